/**
 * OTTL converters (pkg/ottl/ottlfuncs): functions with upper-case names that return a value and change
 * nothing. Each builds, once at config load, a closure over its compiled arguments; arguments that must
 * be literals (regex patterns, formats) are checked and compiled then.
 */
import { createHash } from 'node:crypto';
import { OttlRuntimeError } from './paths.js';
import { ArgError, literalString, needString, one, type CompiledArg, type Converter } from './function-args.js';
import { asString, formatDouble, fromJson, isList, isMap, OttlTime, toJson, typeOf, valuesEqual, type Value, type ValueMap } from './values.js';
import { parseStrptime } from './strptime.js';
import { re2RegExp } from '../processorhelper/re2.js';
import { TIME_CONVERTERS } from './convert-time.js';
import { TEXT_CONVERTERS } from './convert-text.js';
import { HASH_CONVERTERS } from './convert-hash.js';
import { NET_CONVERTERS } from './convert-net.js';
import { XML_CONVERTERS } from './convert-xml.js';

export { ArgError, literalInt, literalString, type Args, type CompiledArg, type Converter, type Getter, type Param } from './function-args.js';

/** Go's RE2 syntax in JavaScript (src/processorhelper/re2.ts), checked at config load. */
export function compileRegex(pattern: string, a: CompiledArg | undefined, fn: string, global = false): RegExp {
  try {
    return re2RegExp(pattern, global ? 'g' : '');
  } catch (err) {
    throw new ArgError(a?.col ?? 0, `${fn}: "${pattern}" is not a valid regular expression: ${(err as Error).message}`);
  }
}

/**
 * IsMatch's target as a string (ottlfuncs README, IsMatch): strings as they are, bools and numbers in
 * their strconv form, bytes base64, maps and slices as JSON; nil -> undefined (no match).
 */
function stringLike(v: Value): string | undefined {
  if (v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return formatDouble(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (isMap(v) || isList(v)) return JSON.stringify(toJson(v));
  return asString(v);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------------------------------------------
// Converters

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

/** TraceID, SpanID, ProfileID: the ID's bytes, or its hex text (the README's bytes|string). */
function idConverter(size: number, fn: string): Converter {
  const hexText = new RegExp(`^[0-9a-fA-F]{${size * 2}}$`);
  const asId = (v: Value): Uint8Array | undefined => {
    if (v instanceof Uint8Array) return v.length === size ? v : undefined;
    return typeof v === 'string' && hexText.test(v) ? Uint8Array.from(Buffer.from(v, 'hex')) : undefined;
  };
  return {
    params: [{ name: 'bytes' }],
    build: (args) => {
      const a = args[0]!;
      const check = (v: Value): Uint8Array => {
        const id = asId(v);
        if (!id)
          throw new OttlRuntimeError(
            `${fn}: expected ${size} bytes or ${size * 2} hex characters, got ${v instanceof Uint8Array ? `${v.length} bytes` : typeof v === 'string' ? `"${v}"` : typeOf(v)}`,
          );
        return id;
      };
      if (a.isLiteral) {
        const id = asId(a.literal ?? null);
        if (!id) throw new ArgError(a.col, `${fn}: expected a ${size}-byte literal such as 0x${'00'.repeat(size)}, or ${size * 2} hex characters`);
        return () => id;
      }
      return (ctx) => check(a.get(ctx));
    },
  };
}

export const CONVERTERS: Record<string, Converter> = {
  // Converters kept in modules of their own (convert-*.ts).
  ...TIME_CONVERTERS,
  ...TEXT_CONVERTERS,
  ...HASH_CONVERTERS,
  ...NET_CONVERTERS,
  ...XML_CONVERTERS,
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
          // A nil value is written "<nil>", as the collector's Concat writes it.
          out += v === null ? '<nil>' : v instanceof Uint8Array ? hex(v) : asString(v);
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
    params: [{ name: 'target' }, { name: 'start' }, { name: 'length' }, { name: 'utf8_safe', optional: true }],
    build: (args, fn) => {
      const [t, s, l] = [args[0]!.get, args[1]!.get, args[2]!.get];
      if (args[3] && (!args[3].isLiteral || typeof args[3].literal !== 'boolean')) throw new ArgError(args[3].col, `${fn}: utf8_safe must be true or false`);
      const utf8Safe = args[3]?.literal === true;
      return (ctx) => {
        const v = t(ctx);
        if (v === null) return null;
        // Byte offsets into the UTF-8 text, as Go slices strings.
        const bytes = Buffer.from(needString(v, fn), 'utf8');
        const start = s(ctx);
        const length = l(ctx);
        if (typeof start !== 'bigint' || typeof length !== 'bigint') throw new OttlRuntimeError(`${fn}: start and length must be ints`);
        if (start < 0n) throw new OttlRuntimeError(`${fn}: invalid start ${start}`);
        if (length <= 0n) throw new OttlRuntimeError(`${fn}: invalid length ${length}`);
        if (start + length > BigInt(bytes.length))
          throw new OttlRuntimeError(`${fn}: start ${start} + length ${length} is past the end of a ${bytes.length}-byte string`);
        let from = Number(start);
        let to = from + Number(length);
        if (utf8Safe) {
          // A start inside a character moves to the next one, an end inside one back to its start.
          while (from < bytes.length && (bytes[from]! & 0xc0) === 0x80) from++;
          while (to < bytes.length && to > from && (bytes[to]! & 0xc0) === 0x80) to--;
          if (to < from) to = from;
        }
        return bytes.toString('utf8', from, to);
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
        const t = parse(s);
        if (t === undefined) throw new OttlRuntimeError(`${fn}: "${s}" does not match the format "${format}"`);
        return new OttlTime(t.ns, t.zone);
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
  ProfileID: idConverter(16, 'ProfileID'),
  Hex: one((v) => hexOf(v)),
  HasPrefix: affix('prefix', (v, x) => v.startsWith(x)),
  HasSuffix: affix('suffix', (v, x) => v.endsWith(x)),
  TrimPrefix: affix('prefix', (v, x) => (x !== '' && v.startsWith(x) ? v.slice(x.length) : v)),
  TrimSuffix: affix('suffix', (v, x) => (x !== '' && v.endsWith(x) ? v.slice(0, -x.length) : v)),
  // Go's strings.Trim: every leading and trailing character found in the cutset (default a space).
  Trim: {
    params: [{ name: 'target' }, { name: 'replacement', optional: true }],
    build: (args, fn) => {
      const g = args[0]!.get;
      const cut = args[1]?.get ?? (() => ' ');
      return (ctx) => {
        const v = needString(g(ctx), fn);
        const set = new Set(needString(cut(ctx), fn));
        let a = 0;
        let b = v.length;
        while (a < b && set.has(v[a]!)) a++;
        while (b > a && set.has(v[b - 1]!)) b--;
        return v.slice(a, b);
      };
    },
  },
  SHA1: digest('sha1'),
  SHA512: digest('sha512'),
  MD5: digest('md5'),
  Base64Encode: {
    params: [{ name: 'value' }, { name: 'variant', optional: true }],
    build: (args, fn) => {
      const variant = args[1] ? literalString(args[1], fn, 'variant') : 'base64';
      if (!['base64', 'base64-raw', 'base64-url', 'base64-raw-url'].includes(variant))
        throw new ArgError(args[1]!.col, `${fn}: variant must be base64, base64-raw, base64-url or base64-raw-url, got "${variant}"`);
      const g = args[0]!.get;
      return (ctx) => {
        const b = Buffer.from(needString(g(ctx), fn), 'utf8').toString(variant.endsWith('url') ? 'base64url' : 'base64');
        const raw = variant.includes('raw');
        // Node's base64url has no padding; Go's URL encoding with padding has it.
        if (variant === 'base64-url') return b + '='.repeat((4 - (b.length % 4)) % 4);
        return raw ? b.replace(/=+$/, '') : b;
      };
    },
  },
  Base64Decode: one((v, fn) => {
    const s = needString(v, fn);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new OttlRuntimeError(`${fn}: "${s}" is not valid base64`);
    return Buffer.from(s, 'base64').toString('utf8');
  }),
  // ottlfuncs README, Bool: numbers are true unless zero; strings as Go's strconv.ParseBool; else nil.
  Bool: one((v) => {
    if (typeof v === 'boolean') return v;
    if (typeof v === 'bigint') return v !== 0n;
    if (typeof v === 'number') return v !== 0;
    if (typeof v === 'string') {
      if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
      if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
    }
    return null;
  }),
  Coalesce: {
    params: [{ name: 'values' }],
    build: (args, fn) => {
      const items = args[0]!.items;
      if (!items || items.length === 0)
        throw new ArgError(args[0]!.col, `${fn}: the argument must be a list of at least one value, e.g. [attributes["a"], "unknown"]`);
      return (ctx) => {
        for (const g of items) {
          const v = g(ctx);
          if (v !== null) return v;
        }
        return null;
      };
    },
  },
  // nil, an empty string, map, list or bytes, and a type's zero value (0, 0.0, false) are empty.
  IsEmpty: one((v) => {
    if (v === null || v === '' || v === false || v === 0n || v === 0) return true;
    if (v instanceof Uint8Array || isList(v)) return v.length === 0;
    if (isMap(v)) return v.size === 0;
    return false;
  }),
  Keys: one((v, fn) => {
    if (!isMap(v)) throw new OttlRuntimeError(`${fn}: expected a map, got ${typeOf(v)}`);
    return [...v.keys()];
  }),
  ContainsValue: {
    params: [{ name: 'target' }, { name: 'item' }],
    build: (args, fn) => {
      const [t, i] = [args[0]!.get, args[1]!.get];
      return (ctx) => {
        const list = t(ctx);
        if (!isList(list)) throw new OttlRuntimeError(`${fn}: expected a list, got ${typeOf(list)}`);
        const item = i(ctx);
        return list.some((x) => valuesEqual(x, item));
      };
    },
  },
};

/** HasPrefix, HasSuffix, TrimPrefix, TrimSuffix: a string value (else an error) and a string affix. */
function affix(what: string, op: (v: string, x: string) => Value): Converter {
  return {
    params: [{ name: 'value' }, { name: what }],
    build: (args, fn) => {
      const [g, x] = [args[0]!.get, args[1]!.get];
      return (ctx) => op(needString(g(ctx), fn), needString(x(ctx), fn));
    },
  };
}

/** SHA1, SHA512, MD5: the hex digest of a string. */
function digest(algorithm: string): Converter {
  return one((v, fn) => createHash(algorithm).update(needString(v, fn)).digest('hex'));
}
