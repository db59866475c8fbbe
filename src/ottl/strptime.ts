/**
 * The strptime directives OTTL's Time converter takes (ottlfuncs README: %Y %m %d %H %M %S %L %f %z %Z
 * %b %B %y %j %p %I %s...), compiled once to a regex and a field mapping. Returns nanoseconds since the
 * epoch, or undefined when the text does not match.
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
  epoch: bigint | undefined;
}

const D: Record<string, [string, Setter]> = {
  Y: ['(\\d{4})', (f, t) => (f.year = Number(t))],
  y: ['(\\d{2})', (f, t) => (f.year = 2000 + Number(t))],
  m: ['(\\d{1,2})', (f, t) => (f.month = Number(t))],
  o: ['(\\d{1,2})', (f, t) => (f.month = Number(t))],
  q: ['(\\d{1,2})', (f, t) => (f.month = Number(t))],
  d: ['(\\d{1,2})', (f, t) => (f.day = Number(t))],
  e: ['\\s?(\\d{1,2})', (f, t) => (f.day = Number(t))],
  H: ['(\\d{1,2})', (f, t) => (f.hour = Number(t))],
  I: ['(\\d{1,2})', (f, t) => (f.hour = Number(t))],
  M: ['(\\d{2})', (f, t) => (f.minute = Number(t))],
  S: ['(\\d{2})', (f, t) => (f.second = Number(t))],
  L: ['(\\d{3})', (f, t) => (f.nanos = BigInt(t) * 1_000_000n)],
  f: ['(\\d{1,9})', (f, t) => (f.nanos = BigInt(t.padEnd(9, '0')))],
  s: ['(\\d+)', (f, t) => (f.epoch = BigInt(t))],
  p: ['(AM|PM|am|pm)', (f, t) => (f.pm = t.toLowerCase() === 'pm')],
  b: ['([A-Za-z]{3})', (f, t) => (f.month = MONTHS.indexOf(t.toLowerCase()) + 1)],
  h: ['([A-Za-z]{3})', (f, t) => (f.month = MONTHS.indexOf(t.toLowerCase()) + 1)],
  B: ['([A-Za-z]+)', (f, t) => (f.month = MONTHS.indexOf(t.slice(0, 3).toLowerCase()) + 1)],
  a: ['[A-Za-z]{3}', () => {}],
  A: ['[A-Za-z]+', () => {}],
  z: [
    '([+-]\\d{2}:?\\d{2}|Z)',
    (f, t) => {
      if (t === 'Z') f.offsetMin = 0;
      else {
        const digits = t.replace(':', '');
        const mins = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5));
        f.offsetMin = t[0] === '-' ? -mins : mins;
      }
    },
  ],
  Z: [
    '([A-Z]{1,5})',
    (f, t) => {
      if (t === 'UTC' || t === 'GMT' || t === 'Z') f.offsetMin = 0;
    },
  ],
};

export function parseStrptime(format: string, location: string | undefined): (text: string) => bigint | undefined {
  let source = '^';
  const setters: Setter[] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === '%' && i + 1 < format.length) {
      const d = format[++i]!;
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
  const utcDefault = location === undefined || location === 'UTC' || location === '';
  return (text) => {
    const m = re.exec(text);
    if (!m) return undefined;
    const f: Fields = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, nanos: 0n, offsetMin: undefined, pm: undefined, epoch: undefined };
    setters.forEach((set, i) => set(f, m[i + 1]!));
    if (f.epoch !== undefined) return f.epoch * 1_000_000_000n + f.nanos;
    if (f.pm !== undefined) f.hour = (f.hour % 12) + (f.pm ? 12 : 0);
    if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 || f.hour > 23 || f.minute > 59 || f.second > 60) return undefined;
    let ms = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
    if (f.offsetMin !== undefined) ms -= f.offsetMin * 60_000;
    else if (!utcDefault) ms -= zoneOffsetMs(location!, ms);
    return BigInt(ms) * 1_000_000n + f.nanos;
  };
}

/** The IANA zone's offset at that instant (Intl knows the zones Node was built with). */
function zoneOffsetMs(zone: string, utcMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - utcMs;
}
