/**
 * The name a metric is served under on /metrics, as the collector's Prometheus exporter makes it from the
 * instrument's name, type and unit. Since v0.120 the collector's own metrics go through the OpenTelemetry
 * Go SDK's Prometheus exporter: a `pull.exporter.prometheus` reader configured in
 * `service.telemetry.metrics.readers` takes the exporter's defaults (`without_units: false`,
 * `without_type_suffix: false`), so a counter gains `_total` and a metric with a unit its unit word
 * (`otelcol_process_uptime` -> `otelcol_process_uptime_seconds_total`); with no reader configured the
 * collector's own default reader sets both options, and names stay as the metadata writes them.
 *
 * Names are made once, when an instrument is created: nothing here runs per record or per scrape.
 */

/** How the reader serving /metrics names metrics: its Prometheus exporter's two options, as booleans. */
export interface MetricNaming {
  /** Append the unit word (`_seconds`, `_bytes`; not for `{annotation}` units): `without_units: false`. */
  readonly units: boolean;
  /** Append `_total` to counters: `without_type_suffix: false`. */
  readonly typeSuffix: boolean;
}

/** The names as the metadata writes them: the collector's default reader (no `readers`, or `metrics.address`). */
export const BARE_NAMING: MetricNaming = Object.freeze({ units: false, typeSuffix: false });

/** The Prometheus exporter's defaults: what an explicit `pull.exporter.prometheus` reader serves. */
export const SUFFIXED_NAMING: MetricNaming = Object.freeze({ units: true, typeSuffix: true });

/** UCUM units to the words Prometheus names end in (the OpenTelemetry-to-Prometheus translation table). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

/** The denominator of a rate unit (`By/s`): singular, after `per`. */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

/** A unit part as name characters: a unit the table lacks keeps its own letters, the others become `_`. */
function unitToken(part: string, table: Readonly<Record<string, string>>): string {
  const u = part.trim();
  if (u === '' || /[{}]/.test(u)) return '';
  const word = table[u] ?? u;
  return word
    .replace(/[^A-Za-z0-9:]/g, '_')
    .replace(/__+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * The name's words with the unit's added: `s` adds `seconds`, `By/s` adds `bytes_per_second`, `{spans}` and
 * `1` add nothing. A unit word the name already has (`_seconds` in otelcol_process_cpu_seconds) is not repeated.
 */
function withUnitWords(tokens: string[], unit: string): string[] {
  const [main = '', per] = unit.split('/', 2);
  const out = [...tokens];
  const m = unitToken(main, UNIT_WORDS);
  if (m !== '' && !tokens.includes(m)) out.push(m);
  const p = per === undefined ? '' : unitToken(per, PER_UNIT_WORDS);
  if (p !== '' && !(tokens.includes('per') && tokens.includes(p))) out.push('per', p);
  return out;
}

/**
 * The served name of a metric of this type and unit. A suffix the name already carries is not added again
 * (`otelcol_process_cpu_seconds` stays, `gophership_processing_worker_edits_total` keeps one `_total`); a
 * histogram takes the unit word before `_bucket`, `_sum` and `_count` and never `_total`; a gauge in unit
 * `1` ends in `_ratio`.
 */
export function servedMetricName(name: string, type: 'counter' | 'gauge' | 'histogram', unit: string, naming: MetricNaming): string {
  if (!naming.units && !naming.typeSuffix) return name;
  let tokens = name.split('_').filter((t) => t !== '');
  const counterSuffix = naming.typeSuffix && type === 'counter';
  // `_total` goes last, after the unit: take it off here and put it back below.
  if (counterSuffix && tokens[tokens.length - 1] === 'total') tokens = tokens.slice(0, -1);
  if (naming.units) {
    tokens = withUnitWords(tokens, unit);
    if (unit.trim() === '1' && type === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  }
  if (counterSuffix) tokens.push('total');
  return tokens.join('_');
}
