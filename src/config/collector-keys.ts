/**
 * Keys that older collector configs (and the blog posts and vendor examples copied from them) still carry,
 * which the collector has since renamed or dropped: `tls_settings`, a top-level `insecure` on the otlp
 * exporter, the exporters' `batcher`, the memory_limiter's ballast. The collector refuses them as unknown
 * keys; validation answers each with what to write now instead of a bare "unknown key" (src/config/
 * validate.ts), and docs/compatibility.md lists them (src/cli/compatibility.ts). Keys GopherShip reads stay
 * out of this table: test/compat.test.ts checks that each one is unknown to its component's schema.
 */
import type { ComponentKind } from '../core/component.js';

export interface RenamedKey {
  kind: ComponentKind;
  /** The component types whose config had the key (their canonical type, not an alias). */
  types: readonly string[];
  /** The key's paths below the component, dotted. */
  paths: readonly string[];
  /** What to write now, or, for a key with no successor, why to remove it. */
  use?: string;
  remove?: string;
}

/** A key of the otlp exporter's own config, which the loadbalancing exporter nests under protocol.otlp. */
const otlpExporterKey = (key: string, use: string): RenamedKey[] => [
  { kind: 'exporter', types: ['otlp'], paths: [key], use },
  { kind: 'exporter', types: ['loadbalancing'], paths: [`protocol.otlp.${key}`], use },
];

export const RENAMED_KEYS: readonly RenamedKey[] = [
  {
    kind: 'receiver',
    types: ['otlp'],
    paths: ['protocols.grpc.tls_settings', 'protocols.http.tls_settings'],
    use: 'tls (the same cert_file, key_file, client_ca_file keys under it)',
  },
  { kind: 'receiver', types: ['otlp'], paths: ['protocols.http.cors_allowed_origins'], use: 'cors.allowed_origins' },
  { kind: 'receiver', types: ['otlp'], paths: ['protocols.http.cors_allowed_headers'], use: 'cors.allowed_headers' },
  ...['insecure', 'insecure_skip_verify', 'ca_file', 'cert_file', 'key_file', 'server_name_override'].flatMap((key) => otlpExporterKey(key, `tls.${key}`)),
  ...otlpExporterKey('per_rpc_auth', 'auth.authenticator naming a bearertokenauth extension that holds the token'),
  {
    kind: 'exporter',
    types: ['otlp', 'otlphttp'],
    paths: ['batcher'],
    use: 'sending_queue.batch (its flush_timeout, min_size, max_size and sizer)',
  },
  { kind: 'exporter', types: ['debug'], paths: ['loglevel'], use: "verbosity (basic, normal or detailed; the logging exporter's loglevel: debug is detailed)" },
  {
    kind: 'processor',
    types: ['memory_limiter'],
    paths: ['ballast_size_mib'],
    remove: 'the collector dropped the ballast with the memory_ballast extension; the limits work without it',
  },
  ...(['trace', 'metric', 'log'] as const).map((signal): RenamedKey => ({
    kind: 'processor',
    types: ['transform'],
    paths: [`${signal}s`],
    use: `${signal}_statements (a list of {context, statements}; its queries became statements)`,
  })),
  {
    kind: 'connector',
    types: ['spanmetrics'],
    paths: ['latency_histogram_buckets'],
    use: "histogram.explicit.buckets (the spanmetrics processor's key; the connector nests it)",
  },
  {
    kind: 'connector',
    types: ['spanmetrics'],
    paths: ['metrics_exporter'],
    remove: 'a connector is named as an exporter of the traces pipeline and as a receiver of the metrics pipeline',
  },
  {
    kind: 'connector',
    types: ['spanmetrics'],
    paths: ['delta_temporality'],
    use: 'metric_timestamp_cache_size at the top level (delta_temporality.metric_timestamp_cache_size before)',
  },
  { kind: 'extension', types: ['health_check'], paths: ['port'], use: 'endpoint (host:port, e.g. 0.0.0.0:13133)' },
];

/** The entry for a key at `path` (below the component) of a component of this kind and type, if any. */
export function renamedKey(kind: ComponentKind, type: string, path: readonly string[]): RenamedKey | undefined {
  const dotted = path.join('.');
  return RENAMED_KEYS.find((r) => r.kind === kind && r.types.includes(type) && r.paths.includes(dotted));
}

export function renamedKeyMessage(r: RenamedKey, key: string): string {
  const now = r.use !== undefined ? `write ${r.use}` : `remove it: ${r.remove}`;
  return `"${key}" is a key of older collectors, which the collector no longer reads; ${now}`;
}
