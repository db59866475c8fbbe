/**
 * Compiles parsed OTTL into closures, once at config load: a statement becomes `(ctx) => boolean` (ran
 * its editor or not), a condition `(ctx) => boolean`. Unknown functions, paths, enums and bad literal
 * arguments are errors here, each with the column in the statement.
 */
import {
  parseCondition,
  parseStatement,
  OttlSyntaxError,
  type Arg,
  type BoolExpr,
  type Expr,
  type KeyExpr,
  type MathOp,
  type StatementAst,
} from './grammar.js';
import { NOT_SUPPORTED_YET } from '../core/schema.js';
import { ArgError, CONVERTERS, type Args, type CompiledArg, type Getter, type Param } from './functions.js';
import { EDITORS } from './editors.js';
import { COLLECTOR_CONVERTERS, COLLECTOR_EDITORS, notYetFunction } from './not-yet.js';
import { dataPointsOf } from './run.js';
import {
  compilePath,
  findKv,
  contextOfName,
  CONTEXT_CHAIN,
  getInValue,
  OttlRuntimeError,
  PathError,
  type ContextName,
  type EvalContext,
  type PathRef,
} from './paths.js';
import { compareOrdered, OttlTime, typeOf, valuesEqual, type Value, type ValueMap } from './values.js';

export type OttlSignal = 'traces' | 'metrics' | 'logs';

/** A statement or condition that cannot be used, with the 1-based column in its text. */
export class OttlError extends Error {
  constructor(
    readonly column: number,
    readonly detail: string,
  ) {
    super(`column ${column}: ${detail}`);
  }
}

const ENUMS: Record<string, bigint> = (() => {
  const e: Record<string, bigint> = {
    SPAN_KIND_UNSPECIFIED: 0n,
    SPAN_KIND_INTERNAL: 1n,
    SPAN_KIND_SERVER: 2n,
    SPAN_KIND_CLIENT: 3n,
    SPAN_KIND_PRODUCER: 4n,
    SPAN_KIND_CONSUMER: 5n,
    STATUS_CODE_UNSET: 0n,
    STATUS_CODE_OK: 1n,
    STATUS_CODE_ERROR: 2n,
    METRIC_DATA_TYPE_NONE: 0n,
    METRIC_DATA_TYPE_GAUGE: 1n,
    METRIC_DATA_TYPE_SUM: 2n,
    METRIC_DATA_TYPE_HISTOGRAM: 3n,
    METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM: 4n,
    METRIC_DATA_TYPE_SUMMARY: 5n,
    AGGREGATION_TEMPORALITY_UNSPECIFIED: 0n,
    AGGREGATION_TEMPORALITY_DELTA: 1n,
    AGGREGATION_TEMPORALITY_CUMULATIVE: 2n,
    FLAG_NONE: 0n,
    FLAG_NO_RECORDED_VALUE: 1n,
    SEVERITY_NUMBER_UNSPECIFIED: 0n,
  };
  ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].forEach((name, i) => {
    e[`SEVERITY_NUMBER_${name}`] = BigInt(i * 4 + 1);
    for (let k = 2; k <= 4; k++) e[`SEVERITY_NUMBER_${name}${k}`] = BigInt(i * 4 + k);
  });
  return e;
})();

export const ENUM_NAMES: readonly string[] = Object.keys(ENUMS);

/** Compiles a path; the default reads decoded messages, src/ottl/wire-paths.ts reads encoded ones. */
export type PathCompiler = (names: readonly string[], keys: readonly KeyExpr[], context: ContextName, signal: OttlSignal) => PathRef;

interface Env {
  context: ContextName;
  signal: OttlSignal;
  paths: PathCompiler;
}

const normalise = (name: string) => name.replace(/_/g, '').toLowerCase();

/** Places positional and named arguments on the function's parameters. */
function placeArgs(fn: string, params: Param[], args: Arg[], compile: (e: Expr) => CompiledArg, col: number): Args {
  const out: Args = new Array(params.length).fill(undefined);
  let named = false;
  args.forEach((a, i) => {
    let at = i;
    if (a.name !== undefined) {
      named = true;
      at = params.findIndex((p) => normalise(p.name) === normalise(a.name!));
      if (at < 0) throw new OttlError(a.value.col, `${fn} has no parameter "${a.name}"; its parameters: ${params.map((p) => p.name).join(', ')}`);
    } else if (named) throw new OttlError(a.value.col, `${fn}: a positional argument cannot follow a named one`);
    if (at >= params.length)
      throw new OttlError(
        a.value.col,
        `${fn} takes at most ${params.length} argument${params.length === 1 ? '' : 's'} (${params.map((p) => p.name).join(', ')})`,
      );
    out[at] = compile(a.value);
  });
  params.forEach((p, i) => {
    if (!p.optional && out[i] === undefined)
      throw new OttlError(col, `${fn} needs its ${p.name} argument: ${fn}(${params.map((q) => (q.optional ? `Optional[${q.name}]` : q.name)).join(', ')})`);
  });
  return out;
}

function withArgErrors<T>(build: () => T, col: number): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof ArgError) throw new OttlError(err.column || col, err.message);
    if (err instanceof PathError) throw new OttlError(col, err.message);
    if (err instanceof Error && !(err instanceof OttlError)) throw new OttlError(col, err.message);
    throw err;
  }
}

function literalOf(e: Expr): { ok: true; v: Value } | { ok: false } {
  switch (e.k) {
    case 'string':
    case 'int':
    case 'float':
    case 'bytes':
    case 'bool':
      return { ok: true, v: e.v };
    case 'nil':
      return { ok: true, v: null };
    case 'enum':
      return ENUMS[e.name] === undefined ? { ok: false } : { ok: true, v: ENUMS[e.name]! };
    case 'list': {
      const items: Value[] = [];
      for (const i of e.items) {
        const l = literalOf(i);
        if (!l.ok) return l;
        items.push(l.v);
      }
      return { ok: true, v: items };
    }
    case 'map': {
      const m: ValueMap = new Map();
      for (const [k, x] of e.entries) {
        const l = literalOf(x);
        if (!l.ok) return l;
        m.set(k, l.v);
      }
      return { ok: true, v: m };
    }
    default:
      return { ok: false };
  }
}

function compileExpr(e: Expr, env: Env): CompiledArg {
  const lit = literalOf(e);
  if (lit.ok) {
    const v = lit.v;
    // A literal list or map is copied per use, so an editor cannot change the literal itself.
    const get: Getter = Array.isArray(v) || v instanceof Map ? () => structuredClone(v) : () => v;
    const items = e.k === 'list' ? e.items.map((i) => compileExpr(i, env).get) : undefined;
    return { get, literal: v, isLiteral: true, items, col: e.col };
  }
  switch (e.k) {
    case 'enum':
      // Not an enum: a function given by name (replace_pattern's `function`), resolved by its user.
      return {
        get: () => {
          throw new OttlRuntimeError(`${e.name} is not a value`);
        },
        isLiteral: false,
        name: e.name,
        col: e.col,
      };
    case 'path': {
      const path = withArgErrors(() => env.paths(e.names, e.keys, env.context, env.signal), e.col);
      return { get: path.get, isLiteral: false, path, col: e.col };
    }
    case 'list': {
      const items = e.items.map((i) => compileExpr(i, env).get);
      return { get: (ctx) => items.map((g) => g(ctx)), isLiteral: false, items, col: e.col };
    }
    case 'map': {
      const entries = e.entries.map(([k, x]) => [k, compileExpr(x, env).get] as const);
      return { get: (ctx) => new Map(entries.map(([k, g]) => [k, g(ctx)])), isLiteral: false, col: e.col };
    }
    case 'math': {
      const l = compileExpr(e.l, env).get;
      const r = compileExpr(e.r, env).get;
      const op = mathOp(e.op);
      return { get: (ctx) => op(l(ctx), r(ctx)), isLiteral: false, col: e.col };
    }
    case 'call': {
      if (e.name === 'IsRootSpan') return isRootSpan(e, env);
      if (e.name === 'HasAttrKeyOnDatapoint' || e.name === 'HasAttrOnDatapoint') return hasAttrOnDatapoint(e, env);
      const conv = CONVERTERS[e.name];
      if (!conv) {
        if (COLLECTOR_CONVERTERS.has(e.name)) throw new OttlError(e.col, notYetFunction('converter', e.name));
        const hint = EDITORS[e.name.toLowerCase()] ? ` (${e.name.toLowerCase()} is an editor: it starts a statement)` : '';
        throw new OttlError(e.col, `unknown converter "${e.name}"${hint}; converters: ${Object.keys(CONVERTERS).join(', ')}`);
      }
      const args = placeArgs(e.name, conv.params, e.args, (x) => compileExpr(x, env), e.col);
      const run = withArgErrors(() => conv.build(args, e.name), e.col);
      const keys = e.keys;
      return { get: keys.length === 0 ? run : (ctx) => getInValue(run(ctx), keys), isLiteral: false, col: e.col };
    }
    default:
      throw new OttlError((e as Expr).col, 'unexpected expression');
  }
}

/**
 * IsRootSpan(): the span's parent_span_id is all zero (absent reads so). Span context only, as the
 * collector's; it reads the ID through the path compiler, so a reader without that path (the wire
 * filter) declines it.
 */
function isRootSpan(e: Extract<Expr, { k: 'call' }>, env: Env): CompiledArg {
  if (env.context !== 'span') throw new OttlError(e.col, `IsRootSpan works in the span context only (this is the ${env.context} context)`);
  if (e.args.length > 0) throw new OttlError(e.col, 'IsRootSpan takes no arguments: IsRootSpan()');
  const parent = withArgErrors(() => env.paths(['span', 'parent_span_id'], [], env.context, env.signal), e.col).get;
  const get: Getter = (ctx) => {
    const id = parent(ctx);
    return !(id instanceof Uint8Array) || id.every((b) => b === 0);
  };
  return { get, isLiteral: false, col: e.col };
}

/**
 * The filter processor's metric-context converters: HasAttrKeyOnDatapoint(key) and
 * HasAttrOnDatapoint(key, value). As the collector's, the first data point holding the key decides:
 * with a value, whether that attribute's string equals it (a non-string attribute reads as "").
 */
function hasAttrOnDatapoint(e: Extract<Expr, { k: 'call' }>, env: Env): CompiledArg {
  const withValue = e.name === 'HasAttrOnDatapoint';
  if (env.context !== 'metric') throw new OttlError(e.col, `${e.name} works in the metric context only (this is the ${env.context} context)`);
  if (env.paths !== compilePath) throw new OttlError(e.col, `${e.name} reads decoded data points`);
  const want = withValue ? 2 : 1;
  const lits = e.args.map((a) => (a.value.k === 'string' ? a.value.v : undefined));
  if (e.args.length !== want || lits.some((x) => x === undefined))
    throw new OttlError(
      e.col,
      withValue ? `${e.name} takes a key and a value, both strings: ${e.name}("key", "value")` : `${e.name} takes one key string: ${e.name}("key")`,
    );
  const [key, value] = lits as string[];
  const get: Getter = (ctx) => {
    for (const dp of dataPointsOf(ctx.metric) ?? []) {
      const kv = findKv(dp.attributes, key!);
      if (!kv) continue;
      if (!withValue) return true;
      const v = kv.value?.value;
      return (v?.case === 'stringValue' ? v.value : '') === value;
    }
    return false;
  };
  return { get, isLiteral: false, col: e.col };
}

/**
 * A math operator (LANGUAGE.md, Math Expressions): ints with ints (int64, wrapping as Go's, division
 * truncating), doubles with doubles; mixing them, any other type, and division by zero are errors.
 */
function mathOp(op: MathOp): (a: Value, b: Value) => Value {
  return (a, b) => {
    if (typeof a === 'bigint' && typeof b === 'bigint') {
      if (op === '/' && b === 0n) throw new OttlRuntimeError('division by zero');
      return BigInt.asIntN(64, op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b);
    }
    if (typeof a === 'number' && typeof b === 'number') {
      if (op === '/' && b === 0) throw new OttlRuntimeError('division by zero');
      return op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
    }
    if (a instanceof OttlTime || b instanceof OttlTime)
      throw new OttlRuntimeError(`math on times is ${NOT_SUPPORTED_YET}; use UnixNano(...) ${op} UnixNano(...)`);
    throw new OttlRuntimeError(`cannot compute ${typeOf(a)} ${op} ${typeOf(b)}: math takes two ints or two doubles (convert with Int() or Double())`);
  };
}

type Cond = (ctx: EvalContext) => boolean;

function compileBool(b: BoolExpr, env: Env): Cond {
  switch (b.k) {
    case 'or': {
      const l = compileBool(b.l, env);
      const r = compileBool(b.r, env);
      return (ctx) => l(ctx) || r(ctx);
    }
    case 'and': {
      const l = compileBool(b.l, env);
      const r = compileBool(b.r, env);
      return (ctx) => l(ctx) && r(ctx);
    }
    case 'not': {
      const e = compileBool(b.e, env);
      return (ctx) => !e(ctx);
    }
    case 'value': {
      const v = compileExpr(b.e, env);
      if (v.isLiteral && typeof v.literal !== 'boolean') throw new OttlError(b.e.col, 'a condition needs a comparison or a boolean value');
      const g = v.get;
      return (ctx) => {
        const x = g(ctx);
        if (typeof x !== 'boolean') throw new OttlRuntimeError(`condition value is a ${x === null ? 'nil' : typeof x}, not a bool`);
        return x;
      };
    }
    case 'cmp':
      return compileComparison(b.op, compileExpr(b.l, env), compileExpr(b.r, env));
  }
}

function compileComparison(op: string, l: CompiledArg, r: CompiledArg): Cond {
  const lg = l.get;
  const rg = r.get;
  // The common case, a string literal compared with a path, without the generic dispatch.
  if (r.isLiteral && typeof r.literal === 'string' && (op === '==' || op === '!=')) {
    const lit = r.literal;
    return op === '==' ? (ctx) => lg(ctx) === lit : (ctx) => lg(ctx) !== lit;
  }
  switch (op) {
    case '==':
      return (ctx) => valuesEqual(lg(ctx), rg(ctx));
    case '!=':
      return (ctx) => !valuesEqual(lg(ctx), rg(ctx));
    case '<':
      return (ctx) => {
        const c = compareOrdered(lg(ctx), rg(ctx));
        return c !== undefined && c < 0;
      };
    case '<=':
      return (ctx) => {
        const c = compareOrdered(lg(ctx), rg(ctx));
        return c !== undefined && c <= 0;
      };
    case '>':
      return (ctx) => {
        const c = compareOrdered(lg(ctx), rg(ctx));
        return c !== undefined && c > 0;
      };
    default:
      return (ctx) => {
        const c = compareOrdered(lg(ctx), rg(ctx));
        return c !== undefined && c >= 0;
      };
  }
}

// ---------------------------------------------------------------------------------------------------
// Context inference (a transform group or a filter condition list written without `context`)

/** The record context of each signal: where a path without a context is read, and where nothing named one. */
export const RECORD_CONTEXT: Readonly<Record<OttlSignal, ContextName>> = { logs: 'log', traces: 'span', metrics: 'datapoint' };

/** The contexts whose parser knows an enum, by its prefix (the collector's symbol tables: ctxspan, ctxmetric, ctxdatapoint, ctxlog). */
const ENUM_CONTEXTS: readonly [prefix: string, contexts: readonly ContextName[]][] = [
  ['SPAN_KIND_', ['span', 'spanevent']],
  ['STATUS_CODE_', ['span', 'spanevent']],
  ['METRIC_DATA_TYPE_', ['metric', 'datapoint']],
  ['AGGREGATION_TEMPORALITY_', ['metric', 'datapoint']],
  ['FLAG_', ['datapoint']],
  ['SEVERITY_NUMBER_', ['log']],
];

function enumContexts(name: string): readonly ContextName[] {
  for (const [prefix, contexts] of ENUM_CONTEXTS) if (name.startsWith(prefix)) return contexts;
  return [];
}

/** The converters only some contexts offer (the others are everywhere), as compileExpr refuses them elsewhere. */
const FUNCTION_CONTEXTS: Readonly<Record<string, readonly ContextName[]>> = {
  IsRootSpan: ['span'],
  HasAttrKeyOnDatapoint: ['metric'],
  HasAttrOnDatapoint: ['metric'],
};

interface Hints {
  /** Each context a path names, with the first path text that named it. */
  named: Map<ContextName, string>;
  /** The first path written without a context (`attributes["x"]`), if any. */
  bare: string | undefined;
  /** Enum names and context-bound converter names used: each needs a context that knows it. */
  needs: Map<string, readonly ContextName[]>;
}

function collectHints(node: unknown, h: Hints): void {
  if (node === null || typeof node !== 'object') return;
  const n = node as { k?: string; names?: string[]; name?: string };
  if (n.k === 'path' && n.names) {
    const first = n.names[0]!;
    const c = contextOfName(first);
    if (c) {
      if (!h.named.has(c)) h.named.set(c, n.names.join('.'));
    } else if (first !== 'cache' && first !== 'request') h.bare ??= n.names.join('.');
  } else if (n.k === 'enum' && n.name !== undefined && ENUMS[n.name] !== undefined) h.needs.set(`the enum ${n.name}`, enumContexts(n.name));
  else if (n.k === 'call' && n.name !== undefined && FUNCTION_CONTEXTS[n.name]) h.needs.set(`the function ${n.name}`, FUNCTION_CONTEXTS[n.name]!);
  for (const v of Object.values(node)) if (typeof v === 'object') collectHints(v, h);
}

/** A group's inferred context, and what decided it (for messages). */
export interface InferredContext {
  context: ContextName;
  /** `span.attributes`, `attributes (a path without a context)`, `the enum SEVERITY_NUMBER_WARN`; undefined when nothing named a context. */
  by: string | undefined;
  /**
   * The first path without a context, when the group runs inside the record context (spanevent): there it
   * would read the span event's field where alone it reads the span's, so the config refuses it.
   */
  ambiguous: string | undefined;
  /** The first path without a context, if any. */
  bare: string | undefined;
}

/**
 * The one context a group of statements and conditions runs in, as the collector's context inferrer: the
 * innermost context their paths name (`set(span.name, ...)` with `set(resource.attributes[...], ...)`:
 * span, so the resource statement runs once per span), moved further in when an enum or converter used
 * is not known there (`SEVERITY_NUMBER_*` only in log, `IsRootSpan()` only in span). GopherShip's leniencies, where the collector refuses: a path
 * without a context (`attributes["x"]`) names the signal's record context (log, span, datapoint), and a
 * group naming no context runs there too.
 */
export function inferGroupContext(asts: readonly unknown[], signal: OttlSignal): InferredContext {
  const h: Hints = { named: new Map(), bare: undefined, needs: new Map() };
  for (const a of asts) collectHints(a, h);
  const chain = CONTEXT_CHAIN[signal];
  const record = RECORD_CONTEXT[signal];
  let best = -1;
  let by: string | undefined;
  for (const [c, text] of h.named) {
    const i = chain.indexOf(c);
    if (i > best) [best, by] = [i, text];
  }
  if (h.bare !== undefined && chain.indexOf(record) > best) [best, by] = [chain.indexOf(record), `${h.bare} (a path without a context is the ${record}'s)`];
  if (best < 0) best = chain.indexOf(record);
  // An enum or converter the context does not know: the innermost context below it that knows all of
  // them, as the collector falls back to the candidate's lower contexts (in its priority order).
  const knowsAll = (c: ContextName) => [...h.needs.values()].every((contexts) => contexts.includes(c));
  if (!knowsAll(chain[best]!)) {
    for (let i = chain.length - 1; i > best; i--) {
      if (knowsAll(chain[i]!)) {
        by = [...h.needs].find(([, contexts]) => !contexts.includes(chain[best]!))![0];
        best = i;
        break;
      }
    }
  }
  const ambiguous = h.bare !== undefined && best > chain.indexOf(record) ? h.bare : undefined;
  return { context: chain[best]!, by, ambiguous, bare: h.bare };
}

/** The context of a group written without one (inferGroupContext's context). */
export function inferContext(asts: readonly unknown[], signal: OttlSignal): ContextName {
  return inferGroupContext(asts, signal).context;
}

// ---------------------------------------------------------------------------------------------------
// Public API

export interface CompiledStatement {
  readonly text: string;
  readonly context: ContextName;
  /** Runs the editor when the where clause holds; returns whether it ran. */
  run(ctx: EvalContext): boolean;
  readonly ast: StatementAst;
}

export interface CompiledCondition {
  readonly text: string;
  readonly context: ContextName;
  eval(ctx: EvalContext): boolean;
}

function syntax<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof OttlSyntaxError) throw new OttlError(err.column, err.detail);
    throw err;
  }
}

export function parseStatementText(text: string): StatementAst {
  return syntax(() => parseStatement(text));
}

export function parseConditionText(text: string): BoolExpr {
  return syntax(() => parseCondition(text));
}

export function compileStatement(text: string, context: ContextName, signal: OttlSignal, ast: StatementAst = parseStatementText(text)): CompiledStatement {
  const env: Env = { context, signal, paths: compilePath };
  const { name, args, col } = ast.editor;
  const editor = EDITORS[name];
  if (!editor) {
    if (COLLECTOR_EDITORS.has(name)) throw new OttlError(col, notYetFunction('editor', name));
    const conv = Object.keys(CONVERTERS).find((c) => c.toLowerCase() === name.toLowerCase());
    const hint = conv ? ` (${conv} is a converter: use it inside an editor, e.g. set(attributes["x"], ${conv}(...)))` : '';
    throw new OttlError(col, `unknown editor "${name}"${hint}; editors: ${Object.keys(EDITORS).join(', ')}`);
  }
  const placed = placeArgs(name, editor.params, args, (x) => compileExpr(x, env), col);
  const action = withArgErrors(() => editor.build(placed, name), col);
  const where = ast.where && compileBool(ast.where, env);
  const run = where
    ? (ctx: EvalContext) => {
        if (!where(ctx)) return false;
        action(ctx);
        return true;
      }
    : (ctx: EvalContext) => {
        action(ctx);
        return true;
      };
  return { text, context, run, ast };
}

export function compileCondition(
  text: string,
  context: ContextName,
  signal: OttlSignal,
  ast: BoolExpr = parseConditionText(text),
  paths: PathCompiler = compilePath,
): CompiledCondition {
  return { text, context, eval: compileBool(ast, { context, signal, paths }) };
}
