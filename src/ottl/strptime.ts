/**
 * The strptime directives OTTL's Time converter takes (the ottlfuncs README's table, Time), compiled once
 * to a regex and a field mapping. Returns nanoseconds since the epoch and the zone the time is in (as
 * Go's ParseInLocation: the location, unless the text gave an offset other than the location's, which
 * is then a fixed offset), or undefined when the text does not match. `%s` is the nanosecond field (9
 * digits) there, not epoch seconds.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

type Setter = (f: Fields, text: string) => void;
interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanos: bigint;
  offsetMin: number | undefined;
  pm: boolean | undefined;
}

/** A UTC offset: Z, ±HH, ±HH:MM, ±HHMM, ±HH:MM:SS, ±HHMMSS (seconds count too). */
function offset(f: Fields, t: string): void {
  if (t === 'Z') {
    f.offsetMin = 0;
    return;
  }
  const d = t.slice(1).replace(/:/g, '');
  const mins = Number(d.slice(0, 2)) * 60 + Number(d.slice(2, 4) || '0') + Number(d.slice(4, 6) || '0') / 60;
  f.offsetMin = t[0] === '-' ? -mins : mins;
}

/** Directives that stand for others (the README's %D %x %F %T %X %r %R %c %n %t). */
const SHORTHANDS: Record<string, string> = {
  D: '%m/%d/%y',
  x: '%m/%d/%y',
  F: '%Y-%m-%d',
  T: '%H:%M:%S',
  X: '%H:%M:%S',
  r: '%I:%M:%S %p',
  R: '%H:%M',
  c: '%a %b %d %H:%M:%S %Y',
  n: '\n',
  t: '\t',
};

const D: Record<string, [string, Setter]> = {
  Y: ['(\\d{4})', (f, t) => (f.year = Number(t))],
  // Go's two-digit years: 69..99 are 19xx, 00..68 are 20xx.
  y: ['(\\d{2})', (f, t) => (f.year = Number(t) >= 69 ? 1900 + Number(t) : 2000 + Number(t))],
  m: ['(\\d{1,2})', (f, t) => (f.month = Number(t))],
  o: ['(\\d{1,2})', (f, t) => (f.month = Number(t))],
  q: ['(\\d{1,2})', (f, t) => (f.month = Number(t))],
  d: ['(\\d{1,2})', (f, t) => (f.day = Number(t))],
  e: ['\\s?(\\d{1,2})', (f, t) => (f.day = Number(t))],
  g: ['(\\d{1,2})', (f, t) => (f.day = Number(t))],
  H: ['(\\d{1,2})', (f, t) => (f.hour = Number(t))],
  I: ['(\\d{1,2})', (f, t) => (f.hour = Number(t))],
  l: ['(\\d{1,2})', (f, t) => (f.hour = Number(t))],
  M: ['(\\d{2})', (f, t) => (f.minute = Number(t))],
  S: ['(\\d{2})', (f, t) => (f.second = Number(t))],
  L: ['(\\d{3})', (f, t) => (f.nanos = BigInt(t) * 1_000_000n)],
  f: ['(\\d{1,9})', (f, t) => (f.nanos = BigInt(t.padEnd(9, '0')))],
  s: ['(\\d{9})', (f, t) => (f.nanos = BigInt(t))],
  p: ['(AM|PM|am|pm)', (f, t) => (f.pm = t.toLowerCase() === 'pm')],
  P: ['(am|pm|AM|PM)', (f, t) => (f.pm = t.toLowerCase() === 'pm')],
  b: ['([A-Za-z]{3})', (f, t) => (f.month = MONTHS.indexOf(t.toLowerCase()) + 1)],
  h: ['([A-Za-z]{3})', (f, t) => (f.month = MONTHS.indexOf(t.toLowerCase()) + 1)],
  B: ['([A-Za-z]+)', (f, t) => (f.month = MONTHS.indexOf(t.slice(0, 3).toLowerCase()) + 1)],
  a: ['[A-Za-z]{3}', () => {}],
  A: ['[A-Za-z]+', () => {}],
  z: ['([+-]\\d{2}:?\\d{2}(?::?\\d{2})?|Z)', offset],
  i: ['([+-]\\d{2})', offset],
  j: ['([+-]\\d{2}:\\d{2})', offset],
  k: ['([+-]\\d{2}:\\d{2}:\\d{2})', offset],
  w: ['([+-]\\d{6})', offset],
  Z: [
    '([A-Z]{1,5})',
    (f, t) => {
      if (t === 'UTC' || t === 'GMT' || t === 'Z') f.offsetMin = 0;
    },
  ],
};

export interface ParsedTime {
  ns: bigint;
  /** undefined: UTC; a string: the IANA location; a number: a fixed offset in seconds east of UTC. */
  zone: string | number | undefined;
}

export function parseStrptime(format: string, location: string | undefined): (text: string) => ParsedTime | undefined {
  let source = '^';
  const setters: Setter[] = [];
  const expanded = format.replace(/%([%DxFTXrRcnt])/g, (m, d: string) => (d === '%' ? m : SHORTHANDS[d]!));
  for (let i = 0; i < expanded.length; i++) {
    const c = expanded[i]!;
    if (c === '%' && i + 1 < expanded.length) {
      const d = expanded[++i]!;
      if (d === '%') {
        source += '%';
        continue;
      }
      const spec = D[d];
      if (!spec) throw new Error(`Time: unsupported directive %${d}`);
      source += spec[0];
      if (spec[0].includes('(')) setters.push(spec[1]);
    } else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`${source}$`);
  // Go's "Local" is the collector's own zone: UTC, as in its images.
  const utcDefault = location === undefined || location === 'UTC' || location === '' || location === 'Local';
  if (!utcDefault) {
    try {
      zoneOffsetMs(location, 0);
    } catch {
      throw new Error(`Time: unknown time zone "${location}" (an IANA name such as "America/New_York")`);
    }
  }
  return (text) => {
    const m = re.exec(text);
    if (!m) return undefined;
    const f: Fields = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, nanos: 0n, offsetMin: undefined, pm: undefined };
    setters.forEach((set, i) => set(f, m[i + 1]!));
    if (f.pm !== undefined) f.hour = (f.hour % 12) + (f.pm ? 12 : 0);
    if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 || f.hour > 23 || f.minute > 59 || f.second > 60) return undefined;
    let ms = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
    // Date.UTC reads years 0..99 as 1900..1999.
    if (f.year < 100) ms = new Date(ms).setUTCFullYear(f.year);
    let zone: string | number | undefined = utcDefault ? undefined : location;
    if (f.offsetMin !== undefined) {
      ms -= Math.round(f.offsetMin * 60_000);
      const offsetSec = Math.round(f.offsetMin * 60);
      const locationSec = utcDefault ? 0 : zoneOffsetMs(location!, ms) / 1000;
      if (offsetSec !== locationSec) zone = offsetSec;
    } else if (!utcDefault) ms -= zoneOffsetMs(location!, ms);
    return { ns: BigInt(ms) * 1_000_000n + f.nanos, zone };
  };
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The IANA zone's offset at that instant (Intl knows the zones Node was built with). */
export function zoneOffsetMs(zone: string, utcMs: number): number {
  let format = zoneFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormats.set(zone, format);
  }
  const parts = format.formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  // The parts have whole seconds: compare with the instant's whole second.
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}
