/**
 * `service.telemetry`: the gateway's own logs, metrics and resource, with the collector's keys. The
 * collector's current way to serve its metrics is `metrics.readers` (a pull reader with a Prometheus
 * exporter on host:port); the older `metrics.address` is kept. `metricsAddress` resolves the two.
 */
import { ENDPOINT_RE, endpointSchema } from '../core/net.js';
import { s, type ConfigOf } from '../core/schema.js';
import { tlsServerSchema } from '../confighelper/tls-config.js';
import { BARE_NAMING, type MetricNaming } from '../core/metric-naming.js';
import { DEFAULT_HISTOGRAM_BUCKETS, type MetricLevel } from '../core/metadata.js';

const samplingSchema = s.object({
  enabled: s.bool().default(true).describe('Sample repeated log lines (per level and message, per tick)'),
  tick: s.duration().default(10_000).describe('The sampling window'),
  initial: s.int(0).default(10).describe('Lines of one level and message logged in full each tick'),
  thereafter: s.int(0).default(100).describe('After `initial`, log every Nth line of that level and message in the tick (0 = drop the rest)'),
});

const logsSchema = s.object({
  level: s.enum('debug', 'info', 'warn', 'error').default('info').describe("Minimum level of the gateway's own logs."),
  encoding: s
    .enum('json', 'console')
    .default('json')
    .describe('json: one JSON object per line; console: time, level, message and the fields as key=value, for people reading a terminal.'),
  development: s.notYet('zap development mode: stack traces on warnings and panics on DPanic', false),
  disable_caller: s.notYet('adds the calling source file and line to each line', true, false),
  disable_stacktrace: s.bool().default(false).describe('Leave the stack of logged errors out of the lines (they carry it by default).'),
  sampling: s
    .presence(samplingSchema)
    .describe(
      "Log sampling as the collector's (zap): per tick, the first `initial` lines of one level and message, then every `thereafter`th. Absent: no sampling.",
    ),
  output_paths: s.array(s.string()).default(['stderr']).describe('Where log lines go: stderr, stdout or file paths (appended to), each receiving every line.'),
  error_output_paths: s
    .array(s.string())
    .default(['stderr'])
    .describe('Where the logger reports its own failures (a file it cannot write): stderr, stdout or file paths.'),
  initial_fields: s.map(s.string()).default({}).describe('Fields added to every log line (e.g. a deployment name).'),
  processors: s.notYet("exports the collector's own logs through OpenTelemetry log processors and exporters"),
});

/** The OpenTelemetry config's `{included, excluded}` lists of attribute keys (a key in both is refused, as otelconf does). */
function includeExcludeSchema(what: string) {
  return s.refine(
    s.object({
      included: s.array(s.string()).default([]).describe(`${what} to keep (\`*\` and \`?\` match any run and one character); empty: every key.`),
      excluded: s.array(s.string()).default([]).describe(`${what} never kept, whatever \`included\` says.`),
    }),
    (v, path, issues) => {
      for (const k of v.excluded)
        if (v.included.includes(k))
          issues.push({ path: [...path, 'excluded'], message: `"${k}" is also in included: an attribute is either included or excluded` });
    },
  );
}

const prometheusSchema = s.object({
  host: s.string().default('localhost').describe('Host the Prometheus endpoint listens on.'),
  port: s.int(0, 65535).default(8888).describe('Port of the Prometheus endpoint (0: any free port).'),
  without_units: s
    .bool()
    .default(true)
    .describe(
      'Serve names without the unit word the Prometheus exporter can append (`_seconds`, `_bytes`, `_milliseconds`; `{annotation}` units add none). true by default, as in the current collector (collector PR #15027; v0.120 to that change defaulted to false): false serves otelcol_process_memory_rss as otelcol_process_memory_rss_bytes.',
    ),
  without_type_suffix: s
    .bool()
    .default(true)
    .describe(
      'Serve counters without the `_total` the Prometheus exporter can append. true by default, as in the current collector (collector PR #15027; v0.120 to that change defaulted to false): false serves otelcol_receiver_accepted_spans as otelcol_receiver_accepted_spans_total.',
    ),
  without_scope_info: s
    .bool()
    .default(true)
    .describe(
      "Serve the series without the instrumentation scope's labels. true by default, as in the current collector (collector PR #15027; an explicit reader before it defaulted to false): false adds `otel_scope_name` (the emitting package's scope, e.g. go.opentelemetry.io/collector/exporter/exporterhelper), `otel_scope_schema_url` and `otel_scope_version` (both empty, as the collector's) to every series but target_info.",
    ),
  with_resource_constant_labels: s
    .presence(includeExcludeSchema('Resource attribute keys'))
    .describe(
      "service.telemetry.resource's attributes as labels on every series but target_info, names made Prometheus-safe (`service.name` -> `service_name`); a series' own label of that name wins. Absent: none (as the collector's explicit reader); with no reader configured, every attribute, as the collector's default reader.",
    ),
});

const readerSchema = s.object({
  pull: s
    .presence(
      s.object({
        exporter: s.object({
          prometheus: s.presence(prometheusSchema).describe('Serve /metrics in the Prometheus text format on host:port.'),
        }),
      }),
    )
    .describe('A pull reader: the metrics are scraped from an endpoint.'),
  periodic: s.notYet("pushes the collector's own metrics over OTLP on an interval"),
});

/** One `service.telemetry.metrics.views` entry, the OpenTelemetry declarative config's View. */
const viewSchema = s.refine(
  s.object({
    selector: s
      .object({
        instrument_name: s
          .string()
          .default('')
          .describe('The instrument (metric) name as the metadata writes it, without _total or a unit word; `*` and `?` wildcards.'),
        instrument_type: s.notYet('selects instruments by kind (counter, up_down_counter, histogram, gauge, observable_*)'),
        unit: s.string().default('').describe("The instrument's unit exactly (`s`, `By`, `{items}`)."),
        meter_name: s
          .string()
          .default('')
          .describe(
            'The meter (instrumentation scope) exactly, as `without_scope_info: false` shows it: go.opentelemetry.io/collector/processor/batchprocessor.',
          ),
        meter_version: s.notYet("selects meters by version (the collector's meters have none)"),
        meter_schema_url: s.notYet("selects meters by schema URL (the collector's meters have none)"),
      })
      .describe('Which instruments the view applies to: every key given must match; at least one.'),
    stream: s
      .object({
        name: s.string().default('').describe('Serve the instrument under this name (the reader adds its suffixes as to any name).'),
        description: s.string().default('').describe('Serve this HELP text.'),
        aggregation: s
          .presence(
            s.refine(
              s.object({
                default: s.presence(s.object({})).describe("The instrument's own aggregation (no change)."),
                drop: s.presence(s.object({})).describe('Do not serve the instrument (`drop: {}`).'),
                sum: s.presence(s.object({})).describe("A sum: a counter's own; a histogram's sum of observations, served as a counter."),
                last_value: s
                  .presence(s.object({}))
                  .describe("The last value: a gauge's own; a counter or histogram is not served (the SDK refuses the pairing, a warning at start says so)."),
                explicit_bucket_histogram: s
                  .presence(
                    s.refine(
                      s.object({
                        boundaries: s
                          .array(s.number())
                          .default([...DEFAULT_HISTOGRAM_BUCKETS])
                          .describe("The histogram's bucket upper bounds, increasing (default: the SDK's, 0 to 10000)."),
                        record_min_max: s.bool().default(true).describe('Accepted; the Prometheus format has no min and max, so it changes nothing served.'),
                      }),
                      (v, path, issues) => {
                        if (v.boundaries.some((b, i) => i > 0 && b <= v.boundaries[i - 1]!))
                          issues.push({ path: [...path, 'boundaries'], message: `must increase: ${JSON.stringify(v.boundaries)}` });
                      },
                    ),
                  )
                  .describe("A histogram's buckets: the picked histograms count into these boundaries (other instruments keep theirs)."),
                base2_exponential_bucket_histogram: s.notYet('serves the instrument as an exponential histogram'),
              }),
              (v, path, issues) => {
                const set = Object.entries(v).filter(([, x]) => x !== undefined);
                if (set.length !== 1)
                  issues.push({
                    path,
                    message: `give exactly one aggregation (default, drop, sum, last_value or explicit_bucket_histogram); got ${set.length}`,
                  });
              },
            ),
          )
          .describe('`drop: {}`, `default: {}`, `sum: {}`, `last_value: {}` or `explicit_bucket_histogram: {boundaries: [...]}`.'),
        aggregation_cardinality_limit: s.notYet('caps the series one stream keeps'),
        attribute_keys: s.presence(includeExcludeSchema('Attribute (label) keys')).describe('The labels kept; series alike in the kept ones are added up.'),
      })
      .describe('What the picked instruments are served as.'),
  }),
  (v, path, issues) => {
    const sel = v.selector;
    if (sel.instrument_name === '' && sel.unit === '' && sel.meter_name === '')
      issues.push({ path: [...path, 'selector'], message: 'a view needs instrument_name, unit or meter_name: an empty selector picks nothing' });
    if (v.stream.name !== '' && (sel.instrument_name === '' || /[*?]/.test(sel.instrument_name)))
      issues.push({
        path: [...path, 'stream', 'name'],
        message: 'a name needs a selector that picks one instrument (instrument_name without * or ?): several metrics cannot share a name',
      });
  },
);

const metricsSchema = s.refine(
  s.object({
    level: s
      .enum('none', 'basic', 'normal', 'detailed')
      .default('normal')
      .describe(
        "Which self-metrics are served, as the collector's levels: basic the essentials (receivers' accepted/refused/failed, exporters' sent/send_failed/enqueue_failed and queue, processors' incoming/outgoing, otelcol_process_*, and the components' collector metrics the collector registers no level for), normal adds the batch processor's metrics and GopherShip's own operator metrics, detailed adds the costly or high-cardinality ones (the batch processor's send_size_bytes). A metric's level is in the Metrics table of its component in the reference. Decided at start: a metric above the level is not created and costs nothing. none disables the self-metrics endpoint and the status page.",
      ),
    address: endpointSchema(
      'localhost:8888',
      'Serves /metrics (Prometheus), /status (live status page) and /status.json; empty disables. `readers` takes precedence.',
      true,
    ),
    readers: s
      .array(readerSchema)
      .default([])
      .describe(
        "The collector's current form: `- pull: {exporter: {prometheus: {host, port}}}`; one pull reader serves what `address` would. As the current collector's, names are the metadata's, bare, unless the reader sets `without_type_suffix: false` (`_total` on counters) or `without_units: false` (unit words such as `_seconds`), the names collectors from v0.120 served by default under a reader.",
      ),
    views: s
      .array(viewSchema)
      .default([])
      .describe(
        "OpenTelemetry views over the self-metrics, as the collector's (needs `level: detailed`, as there): `- selector: {instrument_name, meter_name, unit}` and `stream: {name, description, aggregation: {drop: {}}, attribute_keys: {included, excluded}}`. Applied when /metrics is rendered: the status page and the workers' sum read the metrics as they are. An instrument several views pick is served once per view.",
      ),
    tls: s
      .presence(tlsServerSchema())
      .describe(
        "GopherShip's own (the collector serves its metrics in plaintext only): serve /metrics, /status and /status.json over HTTPS only, on the pull reader's host:port or `address`, with the shared TLS server settings of the receivers (client_ca_file for mutual TLS, reload_interval). Absent: plaintext.",
      ),
  }),
  (v, path, issues) => {
    if (v.views.length > 0 && v.level !== 'detailed')
      issues.push({ path: [...path, 'views'], message: `can only be set with level: detailed, as in the collector (level is ${v.level})` });
    const pulls = v.readers.filter((r) => r.pull?.exporter.prometheus);
    if (pulls.length > 1)
      issues.push({
        path: [...path, 'readers'],
        message: 'more than one pull reader is not supported yet by GopherShip (the collector serves each on its own port): keep one',
      });
    v.readers.forEach((r, i) => {
      if (!r.pull && r.periodic === undefined)
        issues.push({ path: [...path, 'readers', String(i)], message: 'a reader needs `pull:` (with exporter.prometheus)' });
      else if (r.pull && !r.pull.exporter.prometheus)
        issues.push({ path: [...path, 'readers', String(i), 'pull', 'exporter'], message: 'needs `prometheus:` (host, port)' });
    });
  },
);

export const telemetrySchema = s.object({
  logs: logsSchema,
  metrics: metricsSchema,
  traces: s.notYet("exports the collector's own traces (processors, propagators)", {}),
  resource: s
    .map(s.string())
    .default({})
    .describe(
      'Attributes describing this gateway (service.name, deployment.environment...); shown on the self-metrics as labels of target_info (and of every series under the default reader, or those the with_resource_constant_labels of a reader picks) and on every log line under `resource`.',
    ),
});

export type TelemetryConfig = ConfigOf<typeof telemetrySchema>;
export type TelemetryLogsConfig = TelemetryConfig['logs'];

/** The host:port the self-metrics are served on ('' = none): a Prometheus pull reader, else `address`. */
export function metricsAddress(metrics: TelemetryConfig['metrics']): string {
  if (metrics.level === 'none') return '';
  const prom = metrics.readers.find((r) => r.pull?.exporter.prometheus)?.pull?.exporter.prometheus;
  if (!prom) return metrics.address;
  const host = prom.host.includes(':') && !prom.host.startsWith('[') ? `[${prom.host}]` : prom.host;
  const address = `${host}:${prom.port}`;
  return ENDPOINT_RE.test(address) ? address : metrics.address;
}

/**
 * How the self-metrics are named: a configured Prometheus pull reader applies its exporter's options (unit
 * words unless `without_units`, `_total` unless `without_type_suffix`); with no reader (`address`, or
 * nothing) names stay bare. Both options default to true, as in the current collector (PR #15027, reported
 * in opentelemetry.io#11160, 2026-07); collectors from v0.120 until then defaulted them to false under an
 * explicit reader, so dashboards written against those set both false.
 */
export function metricNaming(metrics: TelemetryConfig['metrics']): MetricNaming {
  const prom = metrics.readers.find((r) => r.pull?.exporter.prometheus)?.pull?.exporter.prometheus;
  if (!prom) return BARE_NAMING;
  return { units: !prom.without_units, typeSuffix: !prom.without_type_suffix };
}

/**
 * The level a service's registry serves (src/telemetry/metrics.ts NamedRegistry): the configured one; `none`
 * serves nothing over HTTP (metricsAddress is empty) and keeps every instrument, as before levels applied.
 */
export function metricLevel(metrics: TelemetryConfig['metrics']): MetricLevel {
  return metrics.level === 'none' ? 'detailed' : metrics.level;
}

/** The `pull.exporter.prometheus` settings of the configured reader, if one is configured. */
export function prometheusReader(metrics: TelemetryConfig['metrics']): ConfigOf<typeof prometheusSchema> | undefined {
  return metrics.readers.find((r) => r.pull?.exporter.prometheus)?.pull?.exporter.prometheus;
}
