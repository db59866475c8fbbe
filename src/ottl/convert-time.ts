/**
 * OTTL's time and duration converters (ottlfuncs README): Unix, UnixMicro, Duration, the calendar fields
 * of a time (Year ... Nanosecond, Weekday) read in the time's zone, a duration in units (Hours ...
 * Nanoseconds), TruncateTime and FormatTime.
 */
import { ArgError, literalString, one, type Converter } from './function-args.js';
import { OttlRuntimeError } from './paths.js';
import { OttlDuration, OttlTime, typeOf, type Value } from './values.js';
import { zoneOffsetMs } from './strptime.js';

const NS_PER_SEC = 1_000_000_000n;

function needTime(v: Value, fn: string): OttlTime {
  if (!(v instanceof OttlTime)) throw new OttlRuntimeError(`${fn}: expected a time, got ${typeOf(v)}`);
  return v;
}

function needDuration(v: Value, fn: string): OttlDuration {
  if (!(v instanceof OttlDuration)) throw new OttlRuntimeError(`${fn}: expected a duration, got ${typeOf(v)}`);
  return v;
}

function needInt(v: Value, fn: string, what: string): bigint {
  if (typeof v !== 'bigint') throw new OttlRuntimeError(`${fn}: ${what} must be an int, got ${typeOf(v)}`);
  return v;
}

/** Floor division and its non-negative remainder (Go's time arithmetic on instants before 1970 too). */
function floorDivMod(a: bigint, b: bigint): [bigint, bigint] {
  let q = a / b;
  let r = a % b;
  if (r < 0n) {
    q -= 1n;
    r += b;
  }
  return [q, r];
}

/** The time's offset from UTC in seconds at its instant, in its zone. */
export function offsetSeconds(t: OttlTime): number {
  if (t.zone === undefined) return 0;
  if (typeof t.zone === 'number') return t.zone;
  return zoneOffsetMs(t.zone, Number(floorDivMod(t.ns, 1_000_000n)[0])) / 1000;
}

interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanosecond: number;
  weekday: number;
  offset: number;
}

/** The wall-clock fields of a time in its zone, as Go's Year(), Month(), ... read them. */
export function civil(t: OttlTime): Civil {
  const offset = offsetSeconds(t);
  const [sec, nanos] = floorDivMod(t.ns + BigInt(offset) * NS_PER_SEC, NS_PER_SEC);
  const d = new Date(Number(sec) * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    nanosecond: Number(nanos),
    weekday: d.getUTCDay(),
    offset,
  };
}

const field = (pick: (c: Civil) => number): Converter => one((v, fn) => BigInt(pick(civil(needTime(v, fn)))));

// ---------------------------------------------------------------------------------------------------
// Go's time.ParseDuration

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: NS_PER_SEC,
  m: 60n * NS_PER_SEC,
  h: 3600n * NS_PER_SEC,
};
const MAX_DURATION = (1n << 63n) - 1n;

/** Go's time.ParseDuration: "300ms", "-1.5h", "2h45m"; the errors it gives, in its words. */
export function parseGoDuration(text: string): bigint {
  const invalid = () => new OttlRuntimeError(`time: invalid duration "${text}"`);
  let s = text;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, frac] = [m[1]!, m[2]];
    if (whole === '' && (frac === undefined || frac === '')) throw invalid();
    s = s.slice(m[0].length);
    const unitText = /^[^\d.]*/.exec(s)![0];
    if (unitText === '') throw new OttlRuntimeError(`time: missing unit in duration "${text}"`);
    const unit = UNITS[unitText];
    if (unit === undefined) throw new OttlRuntimeError(`time: unknown unit "${unitText}" in duration "${text}"`);
    s = s.slice(unitText.length);
    let v = BigInt(whole || '0') * unit;
    if (frac) v += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    total += v;
    if (total > MAX_DURATION + (neg ? 1n : 0n)) throw invalid();
  }
  return neg ? -total : total;
}

// ---------------------------------------------------------------------------------------------------
// FormatTime: the strptime directives of the README's table, checked at config load

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (n: number, width: number, fill = '0'): string => String(n).padStart(width, fill);

function zoneText(sec: number, sep: string, parts: 1 | 2 | 3): string {
  const sign = sec < 0 ? '-' : '+';
  const a = Math.abs(sec);
  const fields = [Math.floor(a / 3600), Math.floor((a % 3600) / 60), a % 60].slice(0, parts);
  return sign + fields.map((f) => pad(f, 2)).join(sep);
}

const nameFormats = new Map<string, Intl.DateTimeFormat>();

function nameFormat(locale: string, zone: string): Intl.DateTimeFormat {
  const key = `${locale} ${zone}`;
  let f = nameFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: 'short' });
    nameFormats.set(key, f);
  }
  return f;
}

/** The zone's abbreviation where tzdata has letters for it (EST, CET), else its offset as Go prints it. */
function zoneName(t: OttlTime, c: Civil): string {
  if (t.zone === undefined) return 'UTC';
  if (typeof t.zone === 'string') {
    const ms = Number(floorDivMod(t.ns, 1_000_000n)[0]);
    for (const locale of ['en-US', 'en-GB']) {
      const name = nameFormat(locale, t.zone)
        .formatToParts(new Date(ms))
        .find((p) => p.type === 'timeZoneName')?.value;
      if (name && !/^(GMT|UTC)[+-]/.test(name)) return name;
    }
    return c.offset % 3600 === 0 ? zoneText(c.offset, '', 1) : zoneText(c.offset, '', 2);
  }
  return zoneText(c.offset, '', 2);
}

type Piece = string | ((c: Civil, t: OttlTime) => string);

const hour12 = (c: Civil): number => (c.hour % 12 === 0 ? 12 : c.hour % 12);

const DIRECTIVES: Record<string, Piece> = {
  Y: (c) => pad(c.year, 4),
  y: (c) => pad(c.year % 100, 2),
  m: (c) => pad(c.month, 2),
  o: (c) => pad(c.month, 2, ' '),
  q: (c) => String(c.month),
  b: (c) => MONTHS[c.month - 1]!.slice(0, 3),
  h: (c) => MONTHS[c.month - 1]!.slice(0, 3),
  B: (c) => MONTHS[c.month - 1]!,
  d: (c) => pad(c.day, 2),
  e: (c) => pad(c.day, 2, ' '),
  g: (c) => String(c.day),
  a: (c) => DAYS[c.weekday]!.slice(0, 3),
  A: (c) => DAYS[c.weekday]!,
  H: (c) => pad(c.hour, 2),
  I: (c) => pad(hour12(c), 2),
  l: (c) => String(hour12(c)),
  p: (c) => (c.hour < 12 ? 'AM' : 'PM'),
  P: (c) => (c.hour < 12 ? 'am' : 'pm'),
  M: (c) => pad(c.minute, 2),
  S: (c) => pad(c.second, 2),
  L: (c) => pad(Math.floor(c.nanosecond / 1_000_000), 3),
  f: (c) => pad(Math.floor(c.nanosecond / 1_000), 6),
  s: (c) => pad(c.nanosecond, 9),
  z: (c) => zoneText(c.offset, '', 2),
  Z: (c, t) => zoneName(t, c),
  i: (c) => zoneText(c.offset, '', 1),
  j: (c) => zoneText(c.offset, ':', 2),
  k: (c) => zoneText(c.offset, ':', 3),
  w: (c) => zoneText(c.offset, '', 3),
  n: '\n',
  t: '\t',
  '%': '%',
};
const SHORTHANDS: Record<string, string> = {
  D: '%m/%d/%y',
  x: '%m/%d/%y',
  F: '%Y-%m-%d',
  T: '%H:%M:%S',
  X: '%H:%M:%S',
  r: '%I:%M:%S %P',
  R: '%H:%M',
  c: '%a %b %d %H:%M:%S %Y',
};

/** Compiles a FormatTime format once; an unknown directive is an error then. */
export function compileStrftime(format: string): (t: OttlTime) => string {
  const pieces: Piece[] = [];
  const expanded = format.replace(/%([DxFTXrRc])/g, (_, d: string) => SHORTHANDS[d]!);
  for (let i = 0; i < expanded.length; i++) {
    const ch = expanded[i]!;
    if (ch !== '%') {
      pieces.push(ch);
      continue;
    }
    const d = expanded[++i];
    const piece = d === undefined ? undefined : DIRECTIVES[d];
    if (piece === undefined) throw new Error(`unsupported directive %${d ?? ''} (the directives are those of the ottlfuncs README's FormatTime table)`);
    pieces.push(piece);
  }
  return (t) => {
    const c = civil(t);
    let out = '';
    for (const p of pieces) out += typeof p === 'string' ? p : p(c, t);
    return out;
  };
}

/** Go's Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST" (the fraction without trailing zeros). */
export function goTimeString(t: OttlTime): string {
  const c = civil(t);
  const frac = c.nanosecond === 0 ? '' : `.${pad(c.nanosecond, 9).replace(/0+$/, '')}`;
  const date = `${pad(c.year, 4)}-${pad(c.month, 2)}-${pad(c.day, 2)} ${pad(c.hour, 2)}:${pad(c.minute, 2)}:${pad(c.second, 2)}${frac}`;
  return `${date} ${zoneText(c.offset, '', 2)} ${zoneName(t, c)}`;
}

// Seconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch: Truncate counts from there.
const ZERO_TO_UNIX_NS = 62_135_596_800n * NS_PER_SEC;

const durationIn = (unit: bigint): Converter =>
  one((v, fn) => {
    // Go's Hours(), Minutes(), Seconds(): whole units plus the remainder as a fraction.
    const ns = needDuration(v, fn).ns;
    return Number(ns / unit) + Number(ns % unit) / Number(unit);
  });

export const TIME_CONVERTERS: Record<string, Converter> = {
  // time.Unix(seconds, nanoseconds): in a collector whose local zone is UTC, as in its images.
  Unix: {
    params: [{ name: 'seconds' }, { name: 'nanoseconds', optional: true }],
    build: (args, fn) => {
      const sec = args[0]!.get;
      const nsec = args[1]?.get;
      return (ctx) => {
        const s = needInt(sec(ctx), fn, 'seconds');
        const n = nsec ? needInt(nsec(ctx), fn, 'nanoseconds') : 0n;
        return new OttlTime(s * NS_PER_SEC + n);
      };
    },
  },
  UnixMicro: one((v, fn) => floorDivMod(needTime(v, fn).ns, 1_000n)[0]),
  Duration: one((v, fn) => {
    if (typeof v !== 'string') throw new OttlRuntimeError(`${fn}: expected a string, got ${typeOf(v)}`);
    return new OttlDuration(parseGoDuration(v));
  }),
  Year: field((c) => c.year),
  Month: field((c) => c.month),
  Day: field((c) => c.day),
  Weekday: field((c) => c.weekday),
  Hour: field((c) => c.hour),
  Minute: field((c) => c.minute),
  Second: field((c) => c.second),
  Nanosecond: field((c) => c.nanosecond),
  Hours: durationIn(3600n * NS_PER_SEC),
  Minutes: durationIn(60n * NS_PER_SEC),
  Seconds: durationIn(NS_PER_SEC),
  Milliseconds: one((v, fn) => needDuration(v, fn).ns / 1_000_000n),
  Microseconds: one((v, fn) => needDuration(v, fn).ns / 1_000n),
  Nanoseconds: one((v, fn) => needDuration(v, fn).ns),
  // Go's Time.Truncate: down to a multiple of the duration since the zero time; d <= 0 leaves it.
  TruncateTime: {
    params: [{ name: 'time' }, { name: 'duration' }],
    build: (args, fn) => {
      const [tg, dg] = [args[0]!.get, args[1]!.get];
      return (ctx) => {
        const t = needTime(tg(ctx), fn);
        const d = needDuration(dg(ctx), fn).ns;
        if (d <= 0n) return t;
        const rest = floorDivMod(t.ns + ZERO_TO_UNIX_NS, d)[1];
        return new OttlTime(t.ns - rest, t.zone);
      };
    },
  },
  FormatTime: {
    params: [{ name: 'time' }, { name: 'format' }],
    build: (args, fn) => {
      const format = literalString(args[1], fn, 'format');
      if (format === '') throw new ArgError(args[1]!.col, `${fn}: format cannot be empty`);
      let render: (t: OttlTime) => string;
      try {
        render = compileStrftime(format);
      } catch (err) {
        throw new ArgError(args[1]!.col, `${fn}: "${format}": ${(err as Error).message}`);
      }
      const g = args[0]!.get;
      return (ctx) => render(needTime(g(ctx), fn));
    },
  },
};
