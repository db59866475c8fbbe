/**
 * Go's fmt.Sprintf for the values OTTL passes it (Format): the verbs %v %s %d %f %F %e %E %g %G %x %X
 * %o %b %q %t %c %T %%, flags (- + # space 0), width and precision (`*` included), and Go's in-band
 * errors for a wrong type (%!d(string=x)), a missing argument (%!d(MISSING)) and extra ones
 * (%!(EXTRA int64=1)). Maps and slices print as JSON (Go prints pdata's internals there).
 */
import { formatGoDuration, OttlDuration, OttlTime, toJson, type Value } from './values.js';

export type GoTimeText = (t: OttlTime) => string;

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

function goType(v: Value): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'bigint') return 'int64';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Uint8Array) return '[]uint8';
  if (v instanceof OttlTime) return 'time.Time';
  if (v instanceof OttlDuration) return 'time.Duration';
  return Array.isArray(v) ? 'pcommon.Slice' : 'pcommon.Map';
}

/** Go's strconv.Quote for the common cases: JSON's escapes, with \x for other control bytes. */
function goQuote(s: string): string {
  return JSON.stringify(s)
    .replace(/\\u00([0-7][0-9a-f])/g, '\\x$1')
    .replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** strconv's %e: at least two exponent digits. */
function exp(x: number, prec: number | undefined, upper: boolean): string {
  const s = x.toExponential(prec).replace(/e([+-])(\d)$/, 'e$10$2');
  return upper ? s.toUpperCase() : s;
}

/**
 * Go's %g (and %v): the shortest digits that read back, or `prec` significant digits, without trailing
 * zeros; %e form when the exponent is below -4 or at least the precision (6 for the shortest form).
 */
function general(x: number, prec: number | undefined, upper: boolean, sharp: boolean): string {
  if (x === 0) return '0';
  const p = prec === undefined ? undefined : Math.max(prec, 1);
  const e = Number((p === undefined ? x.toExponential() : x.toExponential(p - 1)).split('e')[1]);
  if (e < -4 || e >= (p ?? 6)) {
    const s = exp(x, p === undefined ? undefined : p - 1, upper);
    return sharp ? s : s.replace(/\.?0+([eE])/, '$1');
  }
  const s = p === undefined ? String(x) : x.toPrecision(p);
  return sharp || !s.includes('.') ? s : s.replace(/\.?0+$/, '');
}

/** %v of a float64: strconv.FormatFloat(f, 'g', -1, 64). */
function shortestFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf';
  return general(x, undefined, false, false);
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  const w = spec.width ?? 0;
  if (s.length >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - s.length);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(w - s.length) + s.slice(sign.length);
  }
  return ' '.repeat(w - s.length) + s;
}

function signed(s: string, neg: boolean, spec: Spec): string {
  return (neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '') + s;
}

function integer(v: bigint, radix: number, spec: Spec, upper = false): string {
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString(radix);
  if (upper) digits = digits.toUpperCase();
  if (spec.prec !== undefined) digits = spec.prec === 0 && v === 0n ? '' : digits.padStart(spec.prec, '0');
  if (spec.sharp) digits = (radix === 16 ? (upper ? '0X' : '0x') : radix === 8 ? '0' : radix === 2 ? '0b' : '') + digits;
  return signed(digits, neg, spec);
}

function float(v: number, verb: string, spec: Spec): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : signed('Inf', v < 0, { ...spec, plus: true });
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  let s: string;
  if (verb === 'f' || verb === 'F') s = a.toFixed(spec.prec ?? 6);
  else if (verb === 'e' || verb === 'E') s = exp(a, spec.prec ?? 6, verb === 'E');
  else s = general(a, spec.prec, verb === 'G', spec.sharp);
  return signed(s, neg, spec);
}

function bad(verb: string, v: Value, text: (v: Value) => string): string {
  return v === null ? `%!${verb}(<nil>)` : `%!${verb}(${goType(v)}=${text(v)})`;
}

function hexOf(bytes: Uint8Array, upper: boolean): string {
  const h = Buffer.from(bytes).toString('hex');
  return upper ? h.toUpperCase() : h;
}

export function goSprintf(format: string, args: Value[], timeText: GoTimeText): string {
  const plain = (v: Value): string => formatValue('v', v, { minus: false, plus: false, sharp: false, space: false, zero: false });

  function formatValue(verb: string, v: Value, spec: Spec): string {
    switch (verb) {
      case 'v':
        if (v === null) return pad('<nil>', spec, false);
        if (typeof v === 'string') return pad(v, spec, false);
        if (typeof v === 'bigint') return pad(integer(v, 10, spec), spec, true);
        if (typeof v === 'number') return pad(spec.prec === undefined && !spec.plus ? shortestFloat(v) : float(v, 'g', spec), spec, true);
        if (typeof v === 'boolean') return pad(String(v), spec, false);
        if (v instanceof Uint8Array) return pad(`[${[...v].join(' ')}]`, spec, false);
        if (v instanceof OttlTime) return pad(timeText(v), spec, false);
        if (v instanceof OttlDuration) return pad(formatGoDuration(v.ns), spec, false);
        return pad(JSON.stringify(toJson(v)), spec, false);
      case 's':
        if (typeof v === 'string' || v instanceof Uint8Array) {
          let s = typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
          if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
          return pad(s, spec, false);
        }
        if (v instanceof OttlTime || v instanceof OttlDuration) return formatValue('v', v, spec);
        return bad('s', v, plain);
      case 'q':
        if (typeof v === 'string') return pad(goQuote(v), spec, false);
        if (typeof v === 'bigint') return pad(`'${String.fromCodePoint(Number(v))}'`, spec, false);
        return bad('q', v, plain);
      case 'd':
      case 'o':
      case 'b':
        if (typeof v === 'bigint') return pad(integer(v, verb === 'd' ? 10 : verb === 'o' ? 8 : 2, spec), spec, true);
        if (v instanceof OttlDuration) return pad(integer(v.ns, 10, spec), spec, true);
        return bad(verb, v, plain);
      case 'x':
      case 'X':
        if (typeof v === 'bigint') return pad(integer(v, 16, spec, verb === 'X'), spec, true);
        if (typeof v === 'string') return pad(hexOf(Buffer.from(v, 'utf8'), verb === 'X'), spec, false);
        if (v instanceof Uint8Array) return pad(hexOf(v, verb === 'X'), spec, false);
        return bad(verb, v, plain);
      case 'c':
        if (typeof v === 'bigint') return pad(String.fromCodePoint(Number(v)), spec, false);
        return bad('c', v, plain);
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (typeof v === 'number') return pad(float(v, verb, spec), spec, true);
        return bad(verb, v, plain);
      case 't':
        if (typeof v === 'boolean') return pad(String(v), spec, false);
        return bad('t', v, plain);
      case 'T':
        return pad(goType(v), spec, false);
      default:
        return bad(verb, v, plain);
    }
  }

  let out = '';
  let argi = 0;
  for (let i = 0; i < format.length;) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    for (; i < format.length; i++) {
      const c = format[i]!;
      if (c === '-') spec.minus = true;
      else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else break;
    }
    const number = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return typeof a === 'bigint' ? Number(a) : undefined;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    spec.width = number();
    if (spec.width !== undefined && spec.width < 0) {
      spec.minus = true;
      spec.width = -spec.width;
    }
    if (format[i] === '.') {
      i++;
      spec.prec = number() ?? 0;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatValue(verb, args[argi++]!, spec);
  }
  if (argi < args.length)
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => (a === null ? '<nil>' : `${goType(a)}=${plain(a)}`))
      .join(', ')})`;
  return out;
}
