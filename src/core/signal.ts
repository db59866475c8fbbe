/** The three OTLP signals. One Export request carries exactly one of them. */
export type Signal = 'logs' | 'traces' | 'metrics';

export const SIGNALS: readonly Signal[] = ['logs', 'traces', 'metrics'];

/** The collector's item noun per signal, used in metric names (otelcol_receiver_accepted_log_records...). */
export const ITEM_NOUN: Readonly<Record<Signal, string>> = {
  logs: 'log_records',
  traces: 'spans',
  metrics: 'metric_points',
};

/** The HTTP path of each signal on an OTLP/HTTP endpoint. */
export const HTTP_PATH: Readonly<Record<Signal, string>> = {
  logs: '/v1/logs',
  traces: '/v1/traces',
  metrics: '/v1/metrics',
};

/** The fully qualified gRPC method of each signal's Export service. */
export const GRPC_METHOD: Readonly<Record<Signal, string>> = {
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
};

export function isSignal(value: string): value is Signal {
  return value === 'logs' || value === 'traces' || value === 'metrics';
}
