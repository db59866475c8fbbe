/**
 * What every OTTL function module shares: the compiled-argument types, the argument error with its
 * column, and the checks of literal arguments made at config load. A leaf module, so converter modules
 * (functions.ts and the convert-*.ts beside it) import it without importing one another.
 */
import type { EvalContext, PathRef } from './paths.js';
import { OttlRuntimeError } from './paths.js';
import { typeOf, type Value } from './values.js';

export type Getter = (ctx: EvalContext) => Value;

/** One compiled argument: its getter, and what compile time knows of it. */
export interface CompiledArg {
  get: Getter;
  /** The value when the argument is a literal. */
  literal?: Value;
  isLiteral: boolean;
  /** The path when the argument is one (editors' targets). */
  path?: PathRef;
  /** The bare upper-case name when the argument is one (a function given by name, e.g. SHA256). */
  name?: string;
  /** The items' getters when the argument is a list literal (Concat's values). */
  items?: Getter[];
  col: number;
}

export interface Param {
  name: string;
  optional?: boolean;
}

/** A function's arguments in parameter order (named ones placed), missing optionals undefined. */
export type Args = (CompiledArg | undefined)[];

export class ArgError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Converter {
  params: Param[];
  build(args: Args, fnName: string): Getter;
}

// ---------------------------------------------------------------------------------------------------
// Helpers shared with editors

/** A literal string argument (regex patterns, formats, modes), checked at config load. */
export function literalString(a: CompiledArg | undefined, fn: string, what: string): string {
  if (!a || !a.isLiteral || typeof a.literal !== 'string') throw new ArgError(a?.col ?? 0, `${fn}: ${what} must be a string literal`);
  return a.literal;
}

export function literalInt(a: CompiledArg | undefined, fn: string, what: string): number {
  if (!a || !a.isLiteral || typeof a.literal !== 'bigint') throw new ArgError(a?.col ?? 0, `${fn}: ${what} must be an integer literal`);
  return Number(a.literal);
}

/** A string value, else the error the collector's StringGetter gives (nil and other types). */
export function needString(v: Value, fn: string): string {
  if (typeof v !== 'string') throw new OttlRuntimeError(`${fn}: expected a string, got ${typeOf(v)}`);
  return v;
}

/** A converter of one value. */
export const one = (fn: (v: Value, name: string) => Value): Converter => ({
  params: [{ name: 'value' }],
  build: (args, name) => {
    const g = args[0]!.get;
    return (ctx) => fn(g(ctx), name);
  },
});
