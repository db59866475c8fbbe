/**
 * Collector components a gateway config is likely to name that GopherShip does not build in yet, with
 * what each does in the collector. Validation answers such a type with "not supported yet by GopherShip
 * (...)" instead of "unknown type", and docs/compatibility.md lists them (scripts/gen-compatibility.mjs).
 */
import type { ComponentKind } from '../core/component.js';

export interface CollectorOnlyComponent {
  kind: ComponentKind | 'connector';
  type: string;
  /** What it does in the collector, in a few words. */
  what: string;
}

const table: Array<[CollectorOnlyComponent['kind'], string, string]> = [
  ['receiver', 'prometheus', 'scrapes Prometheus endpoints'],
  ['receiver', 'hostmetrics', 'collects CPU, memory, disk and network metrics of the host'],
  ['receiver', 'filelog', 'tails log files'],
  ['receiver', 'kafka', 'consumes OTLP or other encodings from Kafka topics'],
  ['receiver', 'jaeger', 'receives Jaeger Thrift and gRPC spans'],
  ['receiver', 'zipkin', 'receives Zipkin spans'],
  ['receiver', 'k8s_cluster', 'collects Kubernetes cluster metrics'],
  ['receiver', 'kubeletstats', 'collects pod and container metrics from the kubelet'],
  ['receiver', 'syslog', 'receives syslog messages'],
  ['receiver', 'fluentforward', 'receives Fluentd Forward protocol events'],
  ['receiver', 'nop', 'receives nothing (for tests and placeholders)'],
  ['processor', 'k8sattributes', 'adds Kubernetes pod metadata to telemetry'],
  ['processor', 'tail_sampling', 'samples whole traces by policies once they are complete'],
  ['processor', 'transform', 'edits telemetry with OTTL statements'],
  ['processor', 'groupbyattrs', 'regroups records under resources by attributes'],
  ['processor', 'metricstransform', 'renames and aggregates metrics'],
  ['processor', 'cumulativetodelta', 'converts cumulative metrics to delta'],
  ['processor', 'deltatocumulative', 'converts delta metrics to cumulative'],
  ['processor', 'span', 'renames spans and extracts attributes from span names'],
  ['processor', 'routing', 'routes telemetry to exporters by attribute (now the routing connector)'],
  ['exporter', 'prometheus', 'serves received metrics for Prometheus to scrape'],
  ['exporter', 'prometheusremotewrite', 'pushes metrics with the Prometheus remote-write protocol'],
  ['exporter', 'kafka', 'publishes telemetry to Kafka topics'],
  ['exporter', 'otlp_arrow', 'sends OTLP as Apache Arrow streams'],
  ['exporter', 'elasticsearch', 'indexes telemetry in Elasticsearch'],
  ['exporter', 'loki', 'pushes logs to Grafana Loki'],
  ['exporter', 'awsxray', 'sends spans to AWS X-Ray'],
  ['exporter', 'googlecloud', 'sends telemetry to Google Cloud Observability'],
  ['exporter', 'datadog', 'sends telemetry to Datadog'],
  ['exporter', 'nop', 'drops everything it receives'],
  ['extension', 'pprof', 'serves Go runtime profiles'],
  ['extension', 'zpages', 'serves live debugging pages of the collector'],
  ['extension', 'basicauth', 'checks or sends HTTP Basic credentials'],
  ['extension', 'bearertokenauth', 'checks or sends a bearer token'],
  ['extension', 'oidc', 'checks OIDC (JWT) bearer tokens of incoming requests'],
  ['extension', 'oauth2client', 'fetches OAuth2 client-credentials tokens for exporters'],
  ['extension', 'headers_setter', 'copies request metadata into outgoing headers'],
  ['extension', 'file_storage', 'stores persistent queue data in files (bbolt)'],
  ['extension', 'healthcheckv2', 'reports component status over HTTP and gRPC'],
  ['connector', 'servicegraph', 'builds service-graph metrics from spans'],
  ['connector', 'failover', 'sends to the first healthy pipeline of a priority list'],
];

export const COLLECTOR_ONLY_COMPONENTS: readonly CollectorOnlyComponent[] = table.map(([kind, type, what]) => ({ kind, type, what }));

/** The table's entry for a component type GopherShip lacks, if the collector has it. */
export function collectorOnlyComponent(kind: CollectorOnlyComponent['kind'], type: string): CollectorOnlyComponent | undefined {
  return COLLECTOR_ONLY_COMPONENTS.find((c) => c.kind === kind && c.type === type);
}
