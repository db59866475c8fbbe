/**
 * OTTL editors (pkg/ottl/ottlfuncs): functions with lower-case names that change their target in place.
 * Each builds, once at config load, a closure `(ctx) => void`; the target argument must be a path.
 */
import type { EvalContext, PathRef } from './paths.js';
import { OttlRuntimeError } from './paths.js';
import { ArgError, CONVERTERS, compileRegex, literalInt, literalString, type Args, type CompiledArg, type Getter, type Param } from './functions.js';
import { cloneValue, isList, isMap, typeOf, type Value, type ValueMap } from './values.js';

export type Action = (ctx: EvalContext) => void;

export interface Editor {
  params: Param[];
  build(args: Args, fnName: string): Action;
}

function target(a: CompiledArg | undefined, fn: string): PathRef & { set: NonNullable<PathRef['set']> } {
  const p = a?.path;
  if (!p) throw new ArgError(a?.col ?? 0, `${fn}: the target must be a path, e.g. attributes["key"]`);
  if (!p.set) throw new ArgError(a!.col, `${fn}: ${p.text} cannot be written`);
  return p as PathRef & { set: NonNullable<PathRef['set']> };
}

/** Runs `edit` on the map at the target path and writes it back when it changed. */
function mapEditor(args: Args, fn: string, edit: (m: ValueMap, ctx: EvalContext) => boolean): Action {
  const t = target(args[0], fn);
  return (ctx) => {
    const m = t.get(ctx);
    if (m === null) return;
    if (!isMap(m)) throw new OttlRuntimeError(`${fn}: ${t.text} is a ${typeOf(m)}, not a map`);
    if (edit(m, ctx)) t.set(ctx, m);
  };
}

export function literalStrings(a: CompiledArg | undefined, fn: string, what: string): string[] {
  const v = a?.literal;
  if (!a?.isLiteral || !Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new ArgError(a?.col ?? 0, `${fn}: ${what} must be a list of strings, e.g. ["a", "b"]`);
  return v as string[];
}

/**
 * A replace_match / replace_all_matches pattern as a RegExp. The README points at filepath.Match, but the
 * functions compile it with gobwas/glob without separators, and that is what users' data meets: `*` and
 * `**` match any run of characters (`/` included), `?` one character, `[abc]` / `[a-z]` / `[!abc]`
 * classes, `{a,b}` alternatives (nesting), `\` escapes the next character.
 */
export function globToRegex(glob: string): RegExp {
  let i = 0;
  const special = /[.+^$()|[\]{}*?\\/]/;
  const lit = (c: string) => (special.test(c) ? `\\${c}` : c);
  // Reads terms until the end, or (inside braces) until the `,` or `}` that ends an alternative.
  const terms = (inBraces: boolean): string => {
    let src = '';
    while (i < glob.length) {
      const c = glob[i]!;
      if (inBraces && (c === ',' || c === '}')) return src;
      i++;
      if (c === '*') {
        while (glob[i] === '*') i++;
        src += '[\\s\\S]*';
      } else if (c === '?') src += '[\\s\\S]';
      else if (c === '\\') {
        if (i >= glob.length) throw new Error(`"${glob}" ends with a lone \\`);
        src += lit(glob[i++]!);
      } else if (c === '[') {
        const end = glob.indexOf(']', i);
        if (end < 0) throw new Error(`"${glob}" has an unclosed [`);
        let cls = glob.slice(i, end);
        i = end + 1;
        const negate = cls.startsWith('!');
        if (negate) cls = cls.slice(1);
        if (cls === '') throw new Error(`"${glob}" has an empty character class`);
        src += `[${negate ? '^' : ''}${cls.replace(/[\\^[\]]/g, '\\$&')}]`;
      } else if (c === '{') {
        const alts: string[] = [];
        for (;;) {
          alts.push(terms(true));
          if (i >= glob.length) throw new Error(`"${glob}" has an unclosed {`);
          if (glob[i++] === '}') break;
        }
        src += `(?:${alts.join('|')})`;
      } else src += lit(c);
    }
    return src;
  };
  const body = terms(false);
  return new RegExp(`^${body}$`, 'u');
}

/** regexp.Expand's `$1`, `${1}`, `$name`, `${name}` in JavaScript's replacement syntax. */
function jsTemplate(go: string): string {
  return go.replace(/\$(\$)|\$\{(\w+)\}|\$([A-Za-z_]\w*|\d+)/g, (m, dollar: string | undefined, braced: string | undefined, bare: string | undefined) => {
    if (dollar) return '$$';
    const name = braced ?? bare!;
    return /^\d+$/.test(name) ? `$${name}` : `$<${name}>`;
  });
}

/**
 * The optional `function` (a converter given by name, applied to the replacement) and
 * `replacementFormat` (one `%s`) of the replace_* editors.
 */
function replacementTransform(fnArg: CompiledArg | undefined, fmtArg: CompiledArg | undefined, fn: string): ((s: string) => string) | undefined {
  if (!fnArg && !fmtArg) return undefined;
  let apply: (s: string) => string = (s) => s;
  if (fnArg) {
    const name = fnArg.name;
    const conv = name === undefined ? undefined : CONVERTERS[name];
    if (!conv || conv.params.filter((p) => !p.optional).length !== 1)
      throw new ArgError(fnArg.col, `${fn}: function must name a converter that takes one string, e.g. SHA256`);
    let input = '';
    const run = conv.build([{ get: () => input, isLiteral: false, col: fnArg.col }], name!);
    apply = (s) => {
      input = s;
      const out = run(undefined as unknown as EvalContext);
      if (typeof out !== 'string') throw new OttlRuntimeError(`${fn}: ${name} did not return a string`);
      return out;
    };
  }
  if (fmtArg) {
    const format = literalString(fmtArg, fn, 'replacementFormat');
    if ((format.match(/%s/g) ?? []).length !== 1 || /%[^s]/.test(format.replace(/%s/, '')))
      throw new ArgError(fmtArg.col, `${fn}: replacementFormat must hold exactly one %s`);
    const inner = apply;
    apply = (s) => format.replace('%s', inner(s));
  }
  return apply;
}

/** Replaces every match of `re` (global) in `s` with `template` (JS syntax), through `transform` when given. */
function replaceAll(s: string, re: RegExp, template: string, single: RegExp, transform: ((s: string) => string) | undefined): string {
  if (!transform) return s.replace(re, template);
  return s.replace(re, (m) => transform(m.replace(single, template)));
}

function replacementGetter(a: CompiledArg | undefined, fn: string): Getter {
  if (!a) throw new ArgError(0, `${fn}: replacement is required`);
  return a.get;
}

/** The replace_* editors' parameters: target, `middle` (mode, the regex or pattern), replacement, function, replacement_format. */
function replaceParams(...middle: string[]): Param[] {
  return [
    { name: 'target' },
    ...middle.map((name) => ({ name })),
    { name: 'replacement' },
    { name: 'function', optional: true },
    { name: 'replacement_format', optional: true },
  ];
}

/** What a replace_* editor compiles from its arguments from index `at` on (the regex or pattern, replacement, function, replacement_format). */
interface Replacement {
  repl: Getter;
  transform: ((s: string) => string) | undefined;
}

function replacementAt(args: Args, at: number, fn: string): Replacement {
  return { repl: replacementGetter(args[at + 1], fn), transform: replacementTransform(args[at + 2], args[at + 3], fn) };
}

/** replace_pattern's and replace_all_patterns' regex at `at`: global (every match) and single (one match's template). */
function regexReplacement(args: Args, at: number, fn: string): Replacement & { re: RegExp; single: RegExp } {
  const pattern = literalString(args[at], fn, 'regex');
  return { re: compileRegex(pattern, args[at], fn, true), single: compileRegex(pattern, args[at], fn), ...replacementAt(args, at, fn) };
}

/** replace_match's and replace_all_matches' glob at `at`. */
function globReplacement(args: Args, at: number, fn: string): Replacement & { glob: RegExp } {
  return { glob: globOf(args[at], fn), ...replacementAt(args, at, fn) };
}

/** delete_matching_keys (keep = false) and keep_matching_keys (keep = true). */
function matchingKeys(keep: boolean): Editor {
  return {
    params: [{ name: 'target' }, { name: 'pattern' }],
    build: (args, fn) => {
      const re = compileRegex(literalString(args[1], fn, 'pattern'), args[1], fn);
      return mapEditor(args, fn, (m) => {
        let changed = false;
        for (const k of [...m.keys()]) if (re.test(k) !== keep) changed = m.delete(k) || changed;
        return changed;
      });
    },
  };
}

function stringFrom(v: Value, fn: string): string {
  if (typeof v !== 'string') throw new OttlRuntimeError(`${fn}: replacement must be a string, got ${typeOf(v)}`);
  return v;
}

function flattenInto(out: ValueMap, v: Value, key: string, depth: number, max: number, resolve: boolean): void {
  if ((isMap(v) || isList(v)) && depth < max) {
    const entries: [string, Value][] = isMap(v) ? [...v] : v.map((x, i) => [String(i), x]);
    for (const [k, x] of entries) flattenInto(out, x, key === '' ? k : `${key}.${k}`, depth + 1, max, resolve);
    return;
  }
  if (resolve && out.has(key)) {
    let n = 0;
    while (out.has(`${key}.${n}`)) n++;
    out.set(`${key}.${n}`, v);
  } else out.set(key, v);
}

export const EDITORS: Record<string, Editor> = {
  set: {
    params: [{ name: 'target' }, { name: 'value' }],
    build: (args, fn) => {
      const t = target(args[0], fn);
      const g = args[1]!.get;
      return (ctx) => {
        const v = g(ctx);
        // set() with nil is no action (ottlfuncs README).
        if (v !== null) t.set(ctx, isMap(v) || isList(v) ? cloneValue(v) : v);
      };
    },
  },
  delete_key: {
    params: [{ name: 'target' }, { name: 'key' }],
    build: (args, fn) => {
      const key = args[1]!.get;
      return mapEditor(args, fn, (m, ctx) => {
        const k = key(ctx);
        return typeof k === 'string' && m.delete(k);
      });
    },
  },
  delete_matching_keys: matchingKeys(false),
  keep_keys: {
    params: [{ name: 'target' }, { name: 'keys' }],
    build: (args, fn) => {
      const keep = new Set(literalStrings(args[1], fn, 'keys'));
      return mapEditor(args, fn, (m) => {
        let changed = false;
        for (const k of [...m.keys()]) if (!keep.has(k)) changed = m.delete(k) || changed;
        return changed;
      });
    },
  },
  keep_matching_keys: matchingKeys(true),
  limit: {
    params: [{ name: 'target' }, { name: 'limit' }, { name: 'priority_keys' }],
    build: (args, fn) => {
      const limit = literalInt(args[1], fn, 'limit');
      if (limit < 0) throw new ArgError(args[1]!.col, `${fn}: limit must be at least 0, got ${limit}`);
      const priority = literalStrings(args[2], fn, 'priority_keys');
      if (priority.length > limit) throw new ArgError(args[2]!.col, `${fn}: ${priority.length} priority keys do not fit a limit of ${limit}`);
      return mapEditor(args, fn, (m) => {
        if (m.size <= limit) return false;
        let left = limit;
        const kept = new Set<string>();
        for (const k of priority) {
          if (m.has(k) && left > 0) {
            kept.add(k);
            left--;
          }
        }
        for (const k of m.keys()) {
          if (left === 0) break;
          if (!kept.has(k)) {
            kept.add(k);
            left--;
          }
        }
        for (const k of [...m.keys()]) if (!kept.has(k)) m.delete(k);
        return true;
      });
    },
  },
  truncate_all: {
    params: [{ name: 'target' }, { name: 'limit' }, { name: 'utf8_safe', optional: true }, { name: 'truncation_marker', optional: true }],
    build: (args, fn) => {
      const limit = literalInt(args[1], fn, 'limit');
      if (limit < 0) throw new ArgError(args[1]!.col, `${fn}: limit must be at least 0, got ${limit}`);
      if (args[2] && (!args[2].isLiteral || typeof args[2].literal !== 'boolean')) throw new ArgError(args[2].col, `${fn}: utf8_safe must be true or false`);
      const marker = Buffer.from(args[3] ? literalString(args[3], fn, 'truncation_marker') : '', 'utf8');
      if (marker.length > limit) throw new ArgError(args[3]!.col, `${fn}: the truncation_marker (${marker.length} bytes) is longer than the limit ${limit}`);
      return mapEditor(args, fn, (m) => {
        let changed = false;
        for (const [k, v] of m) {
          if (typeof v !== 'string') continue;
          const b = Buffer.from(v, 'utf8');
          if (b.length <= limit) continue;
          // The marker counts against the limit. The cut is on a character boundary (a partial UTF-8
          // sequence at the end is dropped) even with utf8_safe false: a string here cannot hold the
          // split character the collector would leave, and the result stays within the limit.
          let end = limit - marker.length;
          while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
          m.set(k, b.toString('utf8', 0, end) + marker.toString('utf8'));
          changed = true;
        }
        return changed;
      });
    },
  },
  replace_pattern: {
    params: replaceParams('regex'),
    build: (args, fn) => {
      const t = target(args[0], fn);
      const { re, single, repl, transform } = regexReplacement(args, 1, fn);
      const lit = args[2]!.isLiteral && typeof args[2]!.literal === 'string' ? jsTemplate(args[2]!.literal) : undefined;
      return (ctx) => {
        const v = t.get(ctx);
        if (typeof v !== 'string') return;
        re.lastIndex = 0;
        if (!re.test(v)) return;
        re.lastIndex = 0;
        const out = replaceAll(v, re, lit ?? jsTemplate(stringFrom(repl(ctx), fn)), single, transform);
        if (out !== v) t.set(ctx, out);
      };
    },
  },
  replace_all_patterns: {
    params: replaceParams('mode', 'regex'),
    build: (args, fn) => {
      const mode = literalString(args[1], fn, 'mode');
      if (mode !== 'key' && mode !== 'value') throw new ArgError(args[1]!.col, `${fn}: mode must be "key" or "value", got "${mode}"`);
      const { re, single, repl, transform } = regexReplacement(args, 2, fn);
      return mapEditor(args, fn, (m, ctx) => {
        const template = jsTemplate(stringFrom(repl(ctx), fn));
        let changed = false;
        for (const [k, v] of [...m]) {
          if (mode === 'value') {
            if (typeof v !== 'string') continue;
            re.lastIndex = 0;
            const out = replaceAll(v, re, template, single, transform);
            if (out !== v) {
              m.set(k, out);
              changed = true;
            }
          } else {
            re.lastIndex = 0;
            const nk = replaceAll(k, re, template, single, transform);
            if (nk !== k) {
              m.delete(k);
              m.set(nk, v);
              changed = true;
            }
          }
        }
        return changed;
      });
    },
  },
  replace_match: {
    params: replaceParams('pattern'),
    build: (args, fn) => {
      const t = target(args[0], fn);
      const { glob, repl, transform } = globReplacement(args, 1, fn);
      return (ctx) => {
        const v = t.get(ctx);
        if (typeof v !== 'string' || !glob.test(v)) return;
        const r = stringFrom(repl(ctx), fn);
        t.set(ctx, transform ? transform(r) : r);
      };
    },
  },
  replace_all_matches: {
    params: replaceParams('pattern'),
    build: (args, fn) => {
      const { glob, repl, transform } = globReplacement(args, 1, fn);
      return mapEditor(args, fn, (m, ctx) => {
        let changed = false;
        for (const [k, v] of m) {
          if (typeof v !== 'string' || !glob.test(v)) continue;
          const r = stringFrom(repl(ctx), fn);
          m.set(k, transform ? transform(r) : r);
          changed = true;
        }
        return changed;
      });
    },
  },
  merge_maps: {
    params: [{ name: 'target' }, { name: 'source' }, { name: 'strategy' }],
    build: (args, fn) => {
      const source = args[1]!.get;
      const strategy = literalString(args[2], fn, 'strategy');
      if (!['insert', 'update', 'upsert'].includes(strategy))
        throw new ArgError(args[2]!.col, `${fn}: strategy must be insert, update or upsert, got "${strategy}"`);
      return mapEditor(args, fn, (m, ctx) => {
        const src = source(ctx);
        if (src === null) return false;
        if (!isMap(src)) throw new OttlRuntimeError(`${fn}: source is a ${typeOf(src)}, not a map`);
        let changed = false;
        for (const [k, v] of src) {
          const has = m.has(k);
          if ((strategy === 'insert' && has) || (strategy === 'update' && !has)) continue;
          m.set(k, cloneValue(v));
          changed = true;
        }
        return changed;
      });
    },
  },
  append: {
    params: [{ name: 'target' }, { name: 'value', optional: true }, { name: 'values', optional: true }],
    build: (args, fn) => {
      const t = target(args[0], fn);
      if (!args[1] && !args[2]) throw new ArgError(args[0]!.col, `${fn}: give at least one of value and values`);
      const one = args[1]?.get;
      if (args[2] && !args[2].items) throw new ArgError(args[2].col, `${fn}: values must be a list, e.g. ["a", attributes["b"]]`);
      const many = args[2]?.items ?? [];
      return (ctx) => {
        const had = t.get(ctx);
        // As the collector's: the target's items (a list), or the target itself as the first item (a
        // scalar); nothing for an absent one; a map or bytes cannot be a list's start.
        let out: Value[];
        if (had === null) out = [];
        else if (isList(had)) out = had.slice();
        else if (isMap(had) || had instanceof Uint8Array) throw new OttlRuntimeError(`${fn}: ${t.text} is a ${typeOf(had)}, which cannot be appended to`);
        else out = [had];
        if (one) out.push(cloneValue(one(ctx)));
        for (const g of many) out.push(cloneValue(g(ctx)));
        t.set(ctx, out);
      };
    },
  },
  delete_index: {
    params: [{ name: 'target' }, { name: 'startIndex' }, { name: 'endIndex', optional: true }],
    build: (args, fn) => {
      const t = target(args[0], fn);
      const startOf = args[1]!.get;
      const endOf = args[2]?.get;
      return (ctx) => {
        const list = t.get(ctx);
        if (!isList(list)) throw new OttlRuntimeError(`${fn}: ${t.text} is a ${typeOf(list)}, not a list`);
        const start = startOf(ctx);
        const end = endOf ? endOf(ctx) : typeof start === 'bigint' ? start + 1n : start;
        if (typeof start !== 'bigint' || typeof end !== 'bigint') throw new OttlRuntimeError(`${fn}: startIndex and endIndex must be ints`);
        const len = BigInt(list.length);
        if (start === 0n && end === len) return t.set(ctx, []);
        if (start < 0n || start >= len) throw new OttlRuntimeError(`${fn}: startIndex ${start} out of bounds for a list of length ${len}`);
        if (end < start) throw new OttlRuntimeError(`${fn}: endIndex ${end} cannot be less than startIndex ${start}`);
        if (end > len) throw new OttlRuntimeError(`${fn}: deletion range [${start}:${end}] out of bounds for a list of length ${len}`);
        if (end === start) return;
        const out = list.slice();
        out.splice(Number(start), Number(end - start));
        t.set(ctx, out);
      };
    },
  },
  flatten: {
    params: [{ name: 'target' }, { name: 'prefix', optional: true }, { name: 'depth', optional: true }, { name: 'resolve_conflicts', optional: true }],
    build: (args, fn) => {
      const prefix = args[1] ? literalString(args[1], fn, 'prefix') : '';
      const depth = args[2] ? literalInt(args[2], fn, 'depth') : Number.MAX_SAFE_INTEGER;
      if (depth < 0) throw new ArgError(args[2]!.col, `${fn}: depth must be at least 0, got ${depth}`);
      const resolve = args[3]?.literal === true;
      return mapEditor(args, fn, (m) => {
        const out: ValueMap = new Map();
        for (const [k, v] of m) flattenInto(out, v, prefix === '' ? k : `${prefix}.${k}`, 0, depth, resolve);
        m.clear();
        for (const [k, v] of out) m.set(k, v);
        return true;
      });
    },
  },
};

function globOf(a: CompiledArg | undefined, fn: string): RegExp {
  const pattern = literalString(a, fn, 'pattern');
  try {
    return globToRegex(pattern);
  } catch (err) {
    throw new ArgError(a!.col, `${fn}: ${(err as Error).message}`);
  }
}
