/**
 * OTTL's converters over strings, lists and maps (ottlfuncs README): Index, Values, Sort, ToSnakeCase,
 * ToCamelCase, ConvertCase, ToKeyValueString, SliceToMap, ParseCSV, ParseInt, ParseSeverity, Format,
 * IsValidLuhn, Log and Decode.
 */
import { ArgError, literalString, needString, one, type CompiledArg, type Converter } from './function-args.js';
import { OttlRuntimeError } from './paths.js';
import { goTimeString } from './convert-time.js';
import { goSprintf } from './go-sprintf.js';
import { csvMap, readCsv } from './csv.js';
import { asString, cloneValue, formatDouble, isList, isMap, typeOf, valuesEqual, type Value, type ValueMap } from './values.js';

function needMap(v: Value, fn: string): ValueMap {
  if (!isMap(v)) throw new OttlRuntimeError(`${fn}: expected a map, got ${typeOf(v)}`);
  return v;
}

/** An optional literal argument of one type, checked at config load. */
function optionalLiteral<T extends 'string' | 'boolean'>(
  a: CompiledArg | undefined,
  fn: string,
  what: string,
  type: T,
): (T extends 'string' ? string : boolean) | undefined {
  if (!a) return undefined;
  if (!a.isLiteral || typeof a.literal !== type) throw new ArgError(a.col, `${fn}: ${what} must be a ${type === 'string' ? 'string' : 'bool'} literal`);
  return a.literal as T extends 'string' ? string : boolean;
}

// ---------------------------------------------------------------------------------------------------
// Case conversion as the collector's (github.com/iancoleman/strcase): ASCII letters and digits; space,
// '_', '-' and '.' separate words.

const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const SEPARATORS = new Set([32, 95, 45, 46]);

/** strcase.ToSnake: a '_' where letter case or digit-ness changes; runs of capitals are one word. */
export function toSnake(input: string): string {
  const s = Buffer.from(input.trim(), 'utf8');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let v = s[i]!;
    const vIsCap = isUpper(v);
    const vIsLow = isLower(v);
    if (vIsCap) v += 32;
    if (i + 1 < s.length) {
      const next = s[i + 1]!;
      const vIsNum = isDigit(v);
      const [nextCap, nextLow, nextNum] = [isUpper(next), isLower(next), isDigit(next)];
      if ((vIsCap && (nextLow || nextNum)) || (vIsLow && (nextCap || nextNum)) || (vIsNum && (nextCap || nextLow))) {
        // A capital that starts a word after a run of capitals (JSONData: the D) gets its '_' before.
        if (vIsCap && nextLow && i > 0 && isUpper(s[i - 1]!)) out.push(95);
        out.push(v);
        if (vIsLow || vIsNum || nextNum) out.push(95);
        continue;
      }
    }
    out.push(SEPARATORS.has(v) ? 95 : v);
  }
  return Buffer.from(out).toString('utf8');
}

/** strcase.ToCamel: words joined with a capital each; other characters dropped. */
export function toCamel(input: string): string {
  const s = Buffer.from(input.trim(), 'utf8');
  if (s.length === 0) return '';
  const out: number[] = [];
  let capNext = true;
  let prevIsCap = false;
  for (let i = 0; i < s.length; i++) {
    let v = s[i]!;
    const vIsCap = isUpper(v);
    const vIsLow = isLower(v);
    if (capNext) {
      if (vIsLow) v -= 32;
    } else if (i === 0) {
      if (vIsCap) v += 32;
    } else if (prevIsCap && vIsCap) {
      v += 32;
    }
    prevIsCap = vIsCap;
    if (vIsCap || vIsLow) {
      out.push(v);
      capNext = false;
    } else if (isDigit(v)) {
      out.push(v);
      capNext = true;
    } else {
      capNext = SEPARATORS.has(v);
    }
  }
  return Buffer.from(out).toString('utf8');
}

const CASES: Record<string, (s: string) => string> = {
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  snake: toSnake,
  camel: toCamel,
};

const caseConverter = (convert: (s: string) => string): Converter =>
  one((v, fn) => {
    const s = needString(v, fn);
    return s === '' ? s : convert(s);
  });

// ---------------------------------------------------------------------------------------------------
// Sort: one common type for the elements, as the collector's

function sortList(list: Value[], desc: boolean): Value {
  if (list.length === 0) return list;
  let asStrings = false;
  let asDoubles = false;
  const first = typeof list[0];
  for (const v of list) {
    if (typeof v === 'bigint') asDoubles ||= first === 'number';
    else if (typeof v === 'number') asDoubles ||= first === 'bigint';
    else if (v === null || typeof v === 'string' || typeof v === 'boolean') asStrings = true;
    // Maps, lists, bytes and the like: nothing to sort by; the list comes back as it was.
    else return list;
  }
  const dir = desc ? -1 : 1;
  const cmp = <T extends string | number | bigint>(a: T, b: T): number => (a < b ? -dir : a > b ? dir : 0);
  if (asStrings) return list.map((v) => asString(v)).sort(cmp);
  if (asDoubles) return list.map((v) => Number(v)).sort(cmp);
  return [...(list as (bigint | number)[])].sort(cmp);
}

// ---------------------------------------------------------------------------------------------------
// ToKeyValueString

function quoteKv(s: string, delimiter: string, pairDelimiter: string): string {
  const escaped = s.replaceAll('"', '\\"');
  return escaped.includes(pairDelimiter) || escaped.includes(delimiter) ? `"${escaped}"` : escaped;
}

// ---------------------------------------------------------------------------------------------------
// ParseInt: Go's strconv.ParseInt(s, base, 64)

const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;

/** Go's underscoreOK: underscores only between digits (or after a base prefix), with base 0 only. */
function underscoresOk(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1]!)) {
    i = 2;
    saw = '0';
    hex = 'xX'.includes(s[1]!);
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (/[0-9]/.test(c) || (hex && /[a-fA-F]/.test(c))) saw = '0';
    else if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else {
      if (saw === '_') return false;
      saw = '!';
    }
  }
  return saw !== '_';
}

export function parseGoInt(text: string, base0: bigint): bigint {
  const syntax = () => new OttlRuntimeError(`strconv.ParseInt: parsing "${text}": invalid syntax`);
  if (text === '') throw syntax();
  let s = text;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  let base = Number(base0);
  let underscores = false;
  if (base0 === 0n) {
    base = 10;
    if (s[0] === '0') {
      const p = s[1]?.toLowerCase();
      if (s.length >= 3 && (p === 'b' || p === 'o' || p === 'x')) {
        base = p === 'b' ? 2 : p === 'o' ? 8 : 16;
        s = s.slice(2);
      } else {
        base = 8;
        s = s.slice(1);
        if (s === '') return 0n;
      }
    }
    underscores = true;
  } else if (base0 < 2n || base0 > 36n) throw new OttlRuntimeError(`strconv.ParseInt: parsing "${text}": invalid base ${base0}`);
  let n = 0n;
  const b = BigInt(base);
  if (s === '') throw syntax();
  for (const ch of s) {
    if (ch === '_' && underscores) continue;
    const d = parseInt(ch, 36);
    if (Number.isNaN(d) || d >= base) throw syntax();
    n = n * b + BigInt(d);
  }
  if (underscores && !underscoresOk(text)) throw syntax();
  const v = neg ? -n : n;
  if (v < MIN_INT64 || v > MAX_INT64) throw new OttlRuntimeError(`strconv.ParseInt: parsing "${text}": value out of range`);
  return v;
}

// ---------------------------------------------------------------------------------------------------
// ParseSeverity: a level from a mapping of levels to criteria

const STATUS_RANGES: Record<string, [bigint, bigint]> = {
  '2xx': [200n, 299n],
  '3xx': [300n, 399n],
  '4xx': [400n, 499n],
  '5xx': [500n, 599n],
};

function criterionMatches(criterion: Value, value: string | bigint, fn: string): boolean {
  const invalid = (why: string) => new OttlRuntimeError(`${fn}: invalid severity mapping criteria: ${why}`);
  if (!isMap(criterion)) throw invalid(`each criterion must be a map with "equals" or "range", got ${typeOf(criterion)}`);
  const equals = criterion.get('equals') ?? null;
  if (typeof value === 'string') return isList(equals) && equals.some((e) => e === value);
  const range = criterion.get('range') ?? null;
  if (range === null) return false;
  let bounds: [bigint, bigint] | undefined;
  if (typeof range === 'string') {
    bounds = STATUS_RANGES[range];
    if (!bounds) throw invalid(`a range placeholder is one of 2xx, 3xx, 4xx, 5xx, got "${range}"`);
  } else if (isMap(range)) {
    const bound = (name: string): bigint => {
      const b = range.get(name);
      if (b === undefined) throw invalid(`range must have a ${name} value`);
      if (typeof b !== 'bigint') throw invalid(`${name} must be an int, got ${typeOf(b)}`);
      return b;
    };
    bounds = [bound('min'), bound('max')];
  } else throw invalid(`a range is {"min": int, "max": int} or one of 2xx, 3xx, 4xx, 5xx, got ${typeOf(range)}`);
  return value >= bounds[0] && value <= bounds[1];
}

// ---------------------------------------------------------------------------------------------------
// IsValidLuhn and Log read their argument as the collector's StringLikeGetter and FloatLikeGetter do

/** A value as text: strings as they are, numbers and bools in Go's strconv form, bytes in hex. */
function stringLike(v: Value, fn: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return formatDouble(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (isMap(v) || isList(v)) return asString(v);
  throw new OttlRuntimeError(`${fn}: invalid input: ${v === null ? '<nil>' : typeOf(v)}`);
}

/** A value as a double: ints widen, strings as Go's strconv.ParseFloat reads them, bools 1 or 0. */
function floatLike(v: Value, fn: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    if (!/^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i.test(v))
      throw new OttlRuntimeError(`${fn}: strconv.ParseFloat: parsing "${v}": invalid syntax`);
    const t = v.toLowerCase().replace(/^\+/, '');
    return t.endsWith('inf') || t.endsWith('infinity') ? (t.startsWith('-') ? -Infinity : Infinity) : t === 'nan' ? NaN : Number(v);
  }
  throw new OttlRuntimeError(`${fn}: invalid input: ${v === null ? '<nil>' : `a ${typeOf(v)} is not a number`}`);
}

/** The Luhn check of a digit string (spaces ignored); a character that is not a digit is an error. */
function luhnValid(text: string, fn: string): boolean {
  const digits = Buffer.from(text.replaceAll(' ', ''), 'utf8');
  if (digits.length === 0) return false;
  const digit = (i: number): number => {
    const c = digits[i]!;
    if (c < 48 || c > 57) throw new OttlRuntimeError(`${fn}: strconv.Atoi: parsing ${JSON.stringify(String.fromCharCode(c))}: invalid syntax`);
    return c - 48;
  };
  const check = digit(digits.length - 1);
  let sum = 0;
  let double = true;
  for (let i = digits.length - 2; i >= 0; i--) {
    let n = digit(i);
    if (double) n = n * 2 > 9 ? n * 2 - 9 : n * 2;
    sum += n;
    double = !double;
  }
  return (10 - (sum % 10)) % 10 === check;
}

// ---------------------------------------------------------------------------------------------------
// Decode: base64 variants, and character sets by their IANA names

/** Go's base64 encodings: the alphabet, and whether padding is required (else refused). */
const BASE64: Record<string, { url: boolean; padded: boolean }> = {
  base64: { url: false, padded: true },
  'base64-raw': { url: false, padded: false },
  'base64-url': { url: true, padded: true },
  'base64-raw-url': { url: true, padded: false },
  // The names the collector's Decode took before the README's.
  rawbase64: { url: false, padded: false },
  urlbase64: { url: true, padded: true },
  rawurlbase64: { url: true, padded: false },
};

function decodeBase64(text: string, variant: { url: boolean; padded: boolean }, fn: string): string {
  const alphabet = variant.url ? /^[A-Za-z0-9_-]*$/ : /^[A-Za-z0-9+/]*$/;
  const body = variant.padded ? text.replace(/={1,2}$/, '') : text;
  const bad = [...body].findIndex((c) => !alphabet.test(c));
  if (bad >= 0 || (variant.padded && text.length % 4 !== 0) || body.length % 4 === 1)
    throw new OttlRuntimeError(`${fn}: could not decode: illegal base64 data at input byte ${bad >= 0 ? bad : Math.min(text.length, body.length)}`);
  return Buffer.from(body, variant.url ? 'base64url' : 'base64').toString('utf8');
}

/** Windows-1252's bytes 0x80-0x9f (the five it leaves undefined read as the C1 controls). */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d,
  0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

/** The collector's names that are no IANA charset (its textutils overrides), then IANA names. */
function charsetDecoder(name: string): ((b: Uint8Array) => string) | undefined {
  const n = name.toLowerCase();
  if (n === 'nop' || n === '' || n === 'ascii' || n === 'us-ascii' || n === 'utf8' || n === 'utf-8') return (b) => Buffer.from(b).toString('utf8');
  const label = n === 'utf16' || n === 'utf-16' ? 'utf-16le' : n;
  // ISO-8859-1 as itself (TextDecoder reads the label as windows-1252).
  if (['iso-8859-1', 'iso_8859-1', 'latin1', 'l1', 'iso-ir-100', 'ibm819', 'cp819', 'csisolatin1'].includes(label))
    return (b) => Buffer.from(b).toString('latin1');
  // Windows-1252 by its table: Node 20's TextDecoder reads the label as ISO-8859-1.
  if (label === 'windows-1252' || label === 'cp1252' || label === 'x-cp1252')
    return (b) => {
      let out = '';
      for (const c of b) out += String.fromCharCode(c >= 0x80 && c <= 0x9f ? CP1252_HIGH[c - 0x80]! : c);
      return out;
    };
  try {
    const decoder = new TextDecoder(label, { ignoreBOM: true });
    return (b) => decoder.decode(b);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------

export const TEXT_CONVERTERS: Record<string, Converter> = {
  Decode: {
    params: [{ name: 'value' }, { name: 'encoding' }],
    build: (args, fn) => {
      const encoding = literalString(args[1], fn, 'encoding');
      const base64 = BASE64[encoding];
      // An unknown encoding fails on each item, as in the collector, which looks it up there.
      const decode = base64 ? undefined : charsetDecoder(encoding);
      const g = args[0]!.get;
      return (ctx) => {
        const v = g(ctx);
        if (typeof v !== 'string' && !(v instanceof Uint8Array))
          throw new OttlRuntimeError(`${fn}: unsupported type provided to Decode function: ${typeOf(v)}`);
        if (base64) return decodeBase64(typeof v === 'string' ? v : Buffer.from(v).toString('latin1'), base64, fn);
        if (!decode)
          throw new OttlRuntimeError(`${fn}: no charset named "${encoding}"; use an IANA name such as utf-8, utf-16le, iso-8859-1 or windows-1252, or base64`);
        return decode(typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
      };
    },
  },
  IsValidLuhn: one((v, fn) => luhnValid(stringLike(v, fn), fn)),
  Log: one((v, fn) => {
    const x = floatLike(v, fn);
    if (!(x > 0)) throw new OttlRuntimeError(`${fn}: invalid input: expected a number greater than zero but got ${formatDouble(x)}`);
    return Math.log(x);
  }),
  Format: {
    params: [{ name: 'formatString' }, { name: 'formatArguments' }],
    build: (args, fn) => {
      const format = literalString(args[0], fn, 'formatString');
      const items = args[1]!.items;
      if (!items) throw new ArgError(args[1]!.col, `${fn}: formatArguments must be a list, e.g. [attributes["a"], 2]`);
      return (ctx) =>
        goSprintf(
          format,
          items.map((g) => g(ctx)),
          goTimeString,
        );
    },
  },
  Index: {
    params: [{ name: 'target' }, { name: 'value' }],
    build: (args, fn) => {
      const [t, x] = [args[0]!.get, args[1]!.get];
      return (ctx) => {
        const target = t(ctx);
        const value = x(ctx);
        if (typeof target === 'string') {
          if (typeof value !== 'string')
            throw new OttlRuntimeError(`${fn}: when the target is a string, the value must be a string too (got ${typeOf(value)})`);
          // Go's strings.Index counts bytes.
          const at = target.indexOf(value);
          return at < 0 ? -1n : BigInt(Buffer.byteLength(target.slice(0, at), 'utf8'));
        }
        if (isList(target)) return BigInt(target.findIndex((v) => valuesEqual(v, value)));
        throw new OttlRuntimeError(`${fn}: the target must be a string or a slice, got ${typeOf(target)}`);
      };
    },
  },
  Values: one((v, fn) => [...needMap(v, fn).values()].map(cloneValue)),
  Sort: {
    params: [{ name: 'target' }, { name: 'order', optional: true }],
    build: (args, fn) => {
      const order = optionalLiteral(args[1], fn, 'order', 'string') ?? 'asc';
      if (order !== 'asc' && order !== 'desc') throw new ArgError(args[1]!.col, `${fn}: order must be "asc" or "desc", got "${order}"`);
      const g = args[0]!.get;
      return (ctx) => {
        const v = g(ctx);
        // Anything but a list comes back unchanged, as the collector's.
        return isList(v) ? sortList(v, order === 'desc') : v;
      };
    },
  },
  ToSnakeCase: caseConverter(toSnake),
  ToCamelCase: caseConverter(toCamel),
  ConvertCase: {
    params: [{ name: 'target' }, { name: 'toCase' }],
    build: (args, fn) => {
      const to = literalString(args[1], fn, 'toCase');
      const convert = CASES[to];
      if (!convert) throw new ArgError(args[1]!.col, `${fn}: invalid case "${to}"; the cases are lower, upper, snake, camel`);
      return caseConverter(convert).build([args[0]], fn);
    },
  },
  ToKeyValueString: {
    params: [{ name: 'target' }, { name: 'delimiter', optional: true }, { name: 'pair_delimiter', optional: true }, { name: 'sort_output', optional: true }],
    build: (args, fn) => {
      const delimiter = optionalLiteral(args[1], fn, 'delimiter', 'string') ?? '=';
      const pairDelimiter = optionalLiteral(args[2], fn, 'pair_delimiter', 'string') ?? ' ';
      const sorted = optionalLiteral(args[3], fn, 'sort_output', 'boolean') ?? false;
      if (delimiter === '') throw new ArgError(args[1]!.col, `${fn}: delimiter cannot be an empty string`);
      if (pairDelimiter === '') throw new ArgError(args[2]!.col, `${fn}: pair_delimiter cannot be an empty string`);
      if (delimiter === pairDelimiter)
        throw new ArgError((args[2] ?? args[1])!.col, `${fn}: pair_delimiter "${pairDelimiter}" cannot be equal to delimiter "${delimiter}"`);
      const g = args[0]!.get;
      return (ctx) => {
        let entries = [...needMap(g(ctx), fn)];
        if (sorted) entries = entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return entries.map(([k, v]) => quoteKv(k, delimiter, pairDelimiter) + delimiter + quoteKv(asString(v), delimiter, pairDelimiter)).join(pairDelimiter);
      };
    },
  },
  SliceToMap: {
    params: [{ name: 'target' }, { name: 'keyPath', optional: true }, { name: 'valuePath', optional: true }],
    build: (args, fn) => {
      const pathOf = (a: CompiledArg | undefined, what: string): string[] | undefined => {
        if (!a) return undefined;
        const l = a.literal ?? null;
        if (!a.isLiteral || !isList(l) || !l.every((x) => typeof x === 'string'))
          throw new ArgError(a.col, `${fn}: ${what} must be a list of strings, e.g. ["name"]`);
        if (l.length === 0) throw new ArgError(a.col, `${fn}: ${what} must name at least one key`);
        return l as string[];
      };
      const keyPath = pathOf(args[1], 'keyPath');
      const valuePath = pathOf(args[2], 'valuePath');
      const dig = (m: ValueMap, path: string[]): Value | undefined => {
        let cur: Value | undefined = m;
        for (const k of path) cur = isMap(cur!) ? cur.get(k) : undefined;
        return cur;
      };
      const g = args[0]!.get;
      return (ctx) => {
        const v = g(ctx);
        if (!isList(v)) throw new OttlRuntimeError(`${fn}: expected a slice, got ${typeOf(v)}`);
        const out: ValueMap = new Map();
        v.forEach((item, i) => {
          let key: Value | undefined = String(i);
          if (keyPath) {
            // Items that are not maps, or whose key is missing or not a string, are left out.
            if (!isMap(item)) return;
            key = dig(item, keyPath);
            if (typeof key !== 'string') return;
          }
          if (!valuePath) {
            out.set(key, cloneValue(item));
            return;
          }
          if (!isMap(item)) return;
          const value = dig(item, valuePath);
          if (value !== undefined) out.set(key, cloneValue(value));
        });
        return out;
      };
    },
  },
  ParseCSV: {
    params: [
      { name: 'target' },
      { name: 'headers' },
      { name: 'delimiter', optional: true },
      { name: 'headerDelimiter', optional: true },
      { name: 'mode', optional: true },
    ],
    build: (args, fn) => {
      const single = (a: CompiledArg | undefined, what: string): string | undefined => {
        const s = optionalLiteral(a, fn, what, 'string');
        if (s !== undefined && [...s].length !== 1) throw new ArgError(a!.col, `${fn}: ${what} must be a single character, got "${s}"`);
        return s;
      };
      const delimiter = single(args[2], 'delimiter') ?? ',';
      const headerDelimiter = single(args[3], 'headerDelimiter') ?? delimiter;
      const mode = optionalLiteral(args[4], fn, 'mode', 'string') ?? 'strict';
      if (!['strict', 'lazyQuotes', 'ignoreQuotes'].includes(mode))
        throw new ArgError(args[4]!.col, `${fn}: unknown mode "${mode}"; the modes are strict, lazyQuotes, ignoreQuotes`);
      const [t, h] = [args[0]!.get, args[1]!.get];
      return (ctx) => {
        const row = needString(t(ctx), fn);
        const header = needString(h(ctx), fn);
        if (header === '') throw new OttlRuntimeError(`${fn}: headers must not be an empty string`);
        const fields = mode === 'ignoreQuotes' ? row.split(delimiter) : readCsv(row, delimiter, mode === 'lazyQuotes');
        return csvMap(header.split(headerDelimiter), fields);
      };
    },
  },
  ParseInt: {
    params: [{ name: 'target' }, { name: 'base' }],
    build: (args, fn) => {
      const [t, b] = [args[0]!.get, args[1]!.get];
      if (args[1]!.isLiteral && typeof args[1]!.literal === 'bigint' && args[1]!.literal < 0n)
        throw new ArgError(args[1]!.col, `${fn}: invalid base ${args[1]!.literal}: the base is 0 or 2 to 36`);
      return (ctx) => {
        const s = needString(t(ctx), fn);
        const base = b(ctx);
        if (typeof base !== 'bigint') throw new OttlRuntimeError(`${fn}: base must be an int, got ${typeOf(base)}`);
        if (base < 0n) throw new OttlRuntimeError(`${fn}: invalid base ${base}: the base is 0 or 2 to 36`);
        return parseGoInt(s, base);
      };
    },
  },
  ParseSeverity: {
    params: [{ name: 'target' }, { name: 'severityMapping' }],
    build: (args, fn) => {
      const [t, m] = [args[0]!.get, args[1]!.get];
      return (ctx) => {
        const mapping = m(ctx);
        if (!isMap(mapping)) throw new OttlRuntimeError(`${fn}: the severity mapping must be a map, got ${typeOf(mapping)}`);
        const value = t(ctx);
        if (typeof value !== 'string' && typeof value !== 'bigint')
          throw new OttlRuntimeError(`${fn}: could not map log level: the value must be a string or an int, got ${typeOf(value)}`);
        for (const [level, criteria] of mapping) {
          if (!isList(criteria))
            throw new OttlRuntimeError(`${fn}: invalid severity mapping: the criteria of "${level}" must be a list, got ${typeOf(criteria)}`);
          if (criteria.some((c) => criterionMatches(c, value, fn))) return level;
        }
        throw new OttlRuntimeError(`${fn}: no matching log level found for value '${value}'`);
      };
    },
  },
};
