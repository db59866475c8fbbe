/**
 * OTTL converters (pkg/ottl/ottlfuncs): functions with upper-case names that return a value and change
 * nothing. Each builds, once at config load, a closure over its compiled arguments; arguments that must
 * be literals (regex patterns, formats) are checked and compiled then.
 */
import { createHash } from 'node:crypto';
import type { EvalContext, PathRef } from './paths.js';
import { OttlRuntimeError } from './paths.js';
import { asString, formatDouble, fromJson, isList, isMap, OttlTime, toJson, typeOf, type Value, type ValueMap } from './values.js';
import { parseStrptime } from './strptime.js';
import { goRegExp } from '../processorhelper/go-regexp.js';

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

/** Go's RE2 syntax in JavaScript (goRegExp), a bad pattern an error at its argument. */
export function compileRegex(pattern: string, a: CompiledArg | undefined, fn: string, global = false): RegExp {
  try {
    return goRegExp(pattern, global ? 'g' : '');
  } catch (err) {
    throw new ArgError(a?.col ?? 0, `${fn}: "${pattern}" is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** A string-ish argument: strings as they are, numbers and bools in their string form; nil -> undefined. */
function stringLike(v: Value): string | undefined {
  if (v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return formatDouble(v);
  return undefined;
}

function needString(v: Value, fn: string): string {
  if (typeof v !== 'string') throw new OttlRuntimeError(`${fn}: expected a string, got ${typeOf(v)}`);
  return v;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------------------------------------------
// Converters

const one = (fn: (v: Value, name: string) => Value): Converter => ({
  params: [{ name: 'value' }],
  build: (args, name) => {
    const g = args[0]!.get;
    return (ctx) => fn(g(ctx), name);
  },
});

function parseKeyValue(s: string, delimiter: string, pairDelimiter: string): ValueMap {
  const out: ValueMap = new Map();
  // Pairs split on the pair delimiter outside double or single quotes; quotes around a value are removed.
  const pairs: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = '';
      cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (s.startsWith(pairDelimiter, i)) {
      pairs.push(cur);
      cur = '';
      i += pairDelimiter.length - 1;
    } else cur += c;
  }
  if (quote) throw new OttlRuntimeError('ParseKeyValue: unclosed quote');
  pairs.push(cur);
  for (const raw of pairs) {
    const pair = raw.trim();
    if (pair === '') continue;
    const at = pair.indexOf(delimiter);
    if (at < 0) throw new OttlRuntimeError(`ParseKeyValue: cannot split "${pair}" into key and value`);
    const key = pair
      .slice(0, at)
      .trim()
      .replace(/^(["'])(.*)\1$/, '$2');
    const value = pair
      .slice(at + delimiter.length)
      .trim()
      .replace(/^(["'])(.*)\1$/, '$2');
    out.set(key, value);
  }
  return out;
}

function hexOf(v: Value): string {
  if (v instanceof Uint8Array) return hex(v);
  if (typeof v === 'string') return hex(Buffer.from(v, 'utf8'));
  if (typeof v === 'bigint') {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    return hex(b);
  }
  if (typeof v === 'number') {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return hex(b);
  }
  if (typeof v === 'boolean') return v ? '01' : '00';
  throw new OttlRuntimeError(`Hex: cannot encode a ${typeOf(v)}`);
}

function idConverter(size: number, fn: string): Converter {
  return {
    params: [{ name: 'bytes' }],
    build: (args) => {
      const a = args[0]!;
      const check = (v: Value): Uint8Array => {
        if (!(v instanceof Uint8Array) || v.length !== size)
          throw new OttlRuntimeError(`${fn}: expected ${size} bytes, got ${v instanceof Uint8Array ? `${v.length} bytes` : typeOf(v)}`);
        return v;
      };
      if (a.isLiteral) {
        if (!(a.literal instanceof Uint8Array) || a.literal.length !== size)
          throw new ArgError(a.col, `${fn}: expected a ${size}-byte literal such as 0x${'00'.repeat(size)}`);
      }
      return (ctx) => check(a.get(ctx));
    },
  };
}

export const CONVERTERS: Record<string, Converter> = {
  IsMatch: {
    params: [{ name: 'target' }, { name: 'pattern' }],
    build: (args, fn) => {
      const re = compileRegex(literalString(args[1], fn, 'pattern'), args[1], fn);
      const g = args[0]!.get;
      return (ctx) => {
        const s = stringLike(g(ctx));
        return s === undefined ? false : re.test(s);
      };
    },
  },
  IsString: one((v) => typeof v === 'string'),
  IsInt: one((v) => typeof v === 'bigint'),
  IsDouble: one((v) => typeof v === 'number'),
  IsBool: one((v) => typeof v === 'boolean'),
  IsMap: one((v) => isMap(v)),
  IsList: one((v) => isList(v)),
  Concat: {
    params: [{ name: 'vals' }, { name: 'delimiter' }],
    build: (args, fn) => {
      const items = args[0]!.items;
      if (!items) throw new ArgError(args[0]!.col, `${fn}: the first argument must be a list, e.g. [attributes["a"], "-", name]`);
      const delim = literalString(args[1], fn, 'delimiter');
      return (ctx) => {
        let out = '';
        for (let i = 0; i < items.length; i++) {
          const v = items[i]!(ctx);
          if (i > 0) out += delim;
          out += v === null ? '' : v instanceof Uint8Array ? hex(v) : asString(v);
        }
        return out;
      };
    },
  },
  Split: {
    params: [{ name: 'target' }, { name: 'delimiter' }],
    build: (args, fn) => {
      const g = args[0]!.get;
      const delim = literalString(args[1], fn, 'delimiter');
      return (ctx) => {
        const v = g(ctx);
        return v === null ? null : needString(v, fn).split(delim);
      };
    },
  },
  Substring: {
    params: [{ name: 'target' }, { name: 'start' }, { name: 'length' }],
    build: (args, fn) => {
      const [t, s, l] = [args[0]!.get, args[1]!.get, args[2]!.get];
      return (ctx) => {
        const v = t(ctx);
        if (v === null) return null;
        const str = needString(v, fn);
        const start = s(ctx);
        const length = l(ctx);
        if (typeof start !== 'bigint' || typeof length !== 'bigint') throw new OttlRuntimeError(`${fn}: start and length must be ints`);
        if (start < 0n) throw new OttlRuntimeError(`${fn}: invalid start ${start}`);
        if (length <= 0n) throw new OttlRuntimeError(`${fn}: invalid length ${length}`);
        if (start + length > BigInt(str.length))
          throw new OttlRuntimeError(`${fn}: start ${start} + length ${length} is past the end of a ${str.length}-character string`);
        return str.substr(Number(start), Number(length));
      };
    },
  },
  ToLowerCase: one((v, fn) => (v === null ? null : needString(v, fn).toLowerCase())),
  ToUpperCase: one((v, fn) => (v === null ? null : needString(v, fn).toUpperCase())),
  Len: one((v, fn) => {
    if (typeof v === 'string') return BigInt(Buffer.byteLength(v, 'utf8'));
    if (v instanceof Uint8Array || Array.isArray(v)) return BigInt(v.length);
    if (isMap(v)) return BigInt(v.size);
    throw new OttlRuntimeError(`${fn}: cannot take the length of a ${typeOf(v)}`);
  }),
  Int: one((v) => {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : null;
    if (typeof v === 'boolean') return v ? 1n : 0n;
    if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return BigInt(v.trim());
    return null;
  }),
  Double: one((v) => {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    return null;
  }),
  String: one((v) => {
    if (v === null) return null;
    if (v instanceof Uint8Array) return hex(v);
    if (isMap(v) || isList(v)) return JSON.stringify(toJson(v));
    return asString(v);
  }),
  SHA256: one((v, fn) => (v === null ? null : createHash('sha256').update(needString(v, fn)).digest('hex'))),
  ParseJSON: one((v, fn) => {
    const s = needString(v, fn);
    let j: unknown;
    try {
      j = JSON.parse(s);
    } catch (err) {
      throw new OttlRuntimeError(`${fn}: ${(err as Error).message}`);
    }
    if (j === null || typeof j !== 'object') throw new OttlRuntimeError(`${fn}: expected a JSON object or array`);
    return fromJson(j);
  }),
  ParseKeyValue: {
    params: [{ name: 'target' }, { name: 'delimiter', optional: true }, { name: 'pair_delimiter', optional: true }],
    build: (args, fn) => {
      const g = args[0]!.get;
      const delim = args[1] ? literalString(args[1], fn, 'delimiter') : '=';
      const pairDelim = args[2] ? literalString(args[2], fn, 'pair_delimiter') : ' ';
      if (delim === pairDelim) throw new ArgError(args[1]!.col, `${fn}: delimiter and pair_delimiter cannot be the same ("${delim}")`);
      return (ctx) => {
        const s = needString(g(ctx), fn);
        if (s === '') throw new OttlRuntimeError(`${fn}: cannot parse an empty string`);
        return parseKeyValue(s, delim, pairDelim);
      };
    },
  },
  ExtractPatterns: {
    params: [{ name: 'target' }, { name: 'pattern' }],
    build: (args, fn) => {
      const re = compileRegex(literalString(args[1], fn, 'pattern'), args[1], fn);
      const names = [...re.source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!);
      if (names.length === 0) throw new ArgError(args[1]!.col, `${fn}: the pattern needs at least one named group, e.g. (?P<name>\\w+)`);
      const g = args[0]!.get;
      return (ctx) => {
        const s = needString(g(ctx), fn);
        const out: ValueMap = new Map();
        const m = re.exec(s);
        if (m?.groups) for (const n of names) if (m.groups[n] !== undefined) out.set(n, m.groups[n]!);
        return out;
      };
    },
  },
  Time: {
    params: [{ name: 'time' }, { name: 'format' }, { name: 'location', optional: true }, { name: 'locale', optional: true }],
    build: (args, fn) => {
      const format = literalString(args[1], fn, 'format');
      if (format === '') throw new ArgError(args[1]!.col, `${fn}: format cannot be empty`);
      const location = args[2] ? literalString(args[2], fn, 'location') : undefined;
      const parse = parseStrptime(format, location);
      const g = args[0]!.get;
      return (ctx) => {
        const s = needString(g(ctx), fn);
        const ns = parse(s);
        if (ns === undefined) throw new OttlRuntimeError(`${fn}: "${s}" does not match the format "${format}"`);
        return new OttlTime(ns);
      };
    },
  },
  UnixNano: one((v, fn) => {
    if (!(v instanceof OttlTime)) throw new OttlRuntimeError(`${fn}: expected a time, got ${typeOf(v)}`);
    return v.ns;
  }),
  UnixMilli: one((v, fn) => {
    if (!(v instanceof OttlTime)) throw new OttlRuntimeError(`${fn}: expected a time, got ${typeOf(v)}`);
    return v.ns / 1_000_000n;
  }),
  UnixSeconds: one((v, fn) => {
    if (!(v instanceof OttlTime)) throw new OttlRuntimeError(`${fn}: expected a time, got ${typeOf(v)}`);
    return v.ns / 1_000_000_000n;
  }),
  Now: {
    params: [],
    build: () => () => new OttlTime(BigInt(Date.now()) * 1_000_000n),
  },
  TraceID: idConverter(16, 'TraceID'),
  SpanID: idConverter(8, 'SpanID'),
  Hex: one((v) => hexOf(v)),
};
