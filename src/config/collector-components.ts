/**
 * Collector component types GopherShip does not build in, with what each does in the collector: every
 * component of the otelcol-contrib and otelcol distributions (v0.136 manifests), plus components the
 * collector has removed that older configs still name (release notes of contrib up to v0.165). Validation answers such a type with
 * "not supported yet by GopherShip (...)", or for a removed one with the release that removed it and
 * what replaces it, instead of "unknown type"; docs/compatibility.md lists them (src/cli/compatibility.ts).
 *
 * A type is the component's config key (its metadata.yaml `type:`), which often differs from its module
 * name (k8sclusterreceiver is `k8s_cluster`). `aliases` are the other spellings the collector accepts
 * (its `deprecated_type` after the 2026 snake_case renames). Types GopherShip builds in (src/component-index.ts)
 * stay out of this table: test/compat.test.ts checks it.
 */
import type { ComponentKind } from '../core/component.js';
import { notSupportedYetMessage } from '../core/schema.js';

/** A component the collector dropped: the release that removed it and what to configure instead. */
export interface CollectorRemoval {
  /** The collector release that removed it (its release notes say so). */
  in: string;
  /** What to use instead, e.g. "the debug exporter". */
  use: string;
  /** Why that works, where it is not plain (e.g. "Jaeger takes OTLP"). */
  why?: string;
  /** The replacement's kind and type when GopherShip builds it in (the message then says so). */
  builtin?: { kind: ComponentKind; type: string };
}

export interface CollectorOnlyComponent {
  kind: ComponentKind;
  type: string;
  /** Other names the collector accepts for the type (deprecated spellings). */
  aliases?: readonly string[];
  /** What it does in the collector, in a few words. */
  what: string;
  removed?: CollectorRemoval;
}

type Row = [type: string, what: string, extra?: { aliases?: readonly string[]; removed?: CollectorRemoval }];

const receivers: Row[] = [
  ['active_directory_ds', 'collects Active Directory Domain Services metrics (Windows)'],
  ['aerospike', 'collects Aerospike database metrics'],
  ['apache', 'collects Apache HTTP Server status metrics'],
  ['apachespark', 'collects Apache Spark metrics'],
  ['awscloudwatch', 'reads logs from AWS CloudWatch'],
  ['awscontainerinsightreceiver', 'collects AWS Container Insights metrics from ECS and EKS'],
  ['awsecscontainermetrics', 'reads ECS task metadata metrics'],
  ['awsfirehose', 'receives AWS Firehose deliveries (CloudWatch metric and log streams)'],
  ['awss3', 'reads telemetry stored in AWS S3'],
  ['awsxray', 'receives AWS X-Ray segments'],
  ['azureblob', 'reads logs and traces from Azure Blob Storage', { aliases: ['azure_blob'] }],
  ['azureeventhub', 'consumes telemetry from Azure Event Hubs'],
  ['azuremonitor', 'collects Azure Monitor metrics', { aliases: ['azure_monitor'] }],
  ['bigip', 'collects F5 BIG-IP metrics'],
  ['carbon', 'receives Graphite Carbon metrics'],
  ['chrony', 'collects chrony time-sync metrics'],
  ['cloudflare', 'receives Cloudflare LogPush logs'],
  ['cloudfoundry', 'reads Cloud Foundry firehose metrics and logs'],
  ['collectd', 'receives collectd write_http metrics'],
  ['couchdb', 'collects CouchDB metrics'],
  ['datadog', 'receives Datadog agent traces and metrics'],
  ['docker_stats', 'collects Docker container metrics'],
  ['elasticsearch', 'collects Elasticsearch cluster metrics'],
  ['envoyals', 'receives Envoy access logs over gRPC'],
  ['expvar', 'reads Go expvar metrics from an endpoint'],
  ['faro', 'receives Grafana Faro browser telemetry'],
  ['filelog', 'tails log files', { aliases: ['file_log'] }],
  ['filestats', 'collects file size and time metrics'],
  ['flinkmetrics', 'collects Apache Flink metrics'],
  ['fluentforward', 'receives Fluentd Forward protocol events'],
  ['github', 'collects GitHub repository metrics and webhook events'],
  ['googlecloudmonitoring', 'reads Google Cloud Monitoring metrics'],
  ['googlecloudpubsub', 'consumes telemetry from Google Cloud Pub/Sub'],
  ['googlecloudspanner', 'collects Google Cloud Spanner statistics'],
  ['haproxy', 'collects HAProxy metrics'],
  ['hostmetrics', 'collects CPU, memory, disk and network metrics of the host', { aliases: ['host_metrics'] }],
  ['httpcheck', 'probes HTTP endpoints and reports their status'],
  ['iis', 'collects IIS metrics (Windows)'],
  ['influxdb', 'receives InfluxDB line protocol metrics'],
  ['jaeger', 'receives Jaeger Thrift and gRPC spans'],
  ['journald', 'reads systemd journal logs'],
  ['k8s_cluster', 'collects Kubernetes cluster metrics'],
  ['k8s_events', 'receives Kubernetes events as logs'],
  ['k8sobjects', 'pulls or watches Kubernetes objects as logs', { aliases: ['k8s_objects'] }],
  ['kafka', 'consumes OTLP or other encodings from Kafka topics'],
  ['kafkametrics', 'collects Kafka broker, topic and consumer metrics'],
  ['kubeletstats', 'collects pod and container metrics from the kubelet', { aliases: ['kubelet_stats'] }],
  ['libhoney', 'receives Honeycomb libhoney events'],
  ['loki', 'receives logs in the Loki push format'],
  ['memcached', 'collects Memcached metrics'],
  ['mongodb', 'collects MongoDB metrics'],
  ['mongodbatlas', 'collects MongoDB Atlas metrics and logs', { aliases: ['mongodb_atlas'] }],
  ['mysql', 'collects MySQL metrics'],
  ['namedpipe', 'reads logs from a named pipe', { aliases: ['named_pipe'] }],
  ['netflow', 'receives NetFlow, sFlow and IPFIX flows'],
  ['nginx', 'collects NGINX status metrics'],
  ['nop', 'receives nothing (for tests and placeholders)'],
  ['nsxt', 'collects VMware NSX-T metrics'],
  ['ntp', 'measures clock offset against an NTP server'],
  ['oracledb', 'collects Oracle Database metrics'],
  ['otelarrow', 'receives OTLP as Apache Arrow streams'],
  ['otlpjsonfile', 'reads OTLP JSON files'],
  ['podman_stats', 'collects Podman container metrics'],
  ['postgresql', 'collects PostgreSQL metrics'],
  ['prometheus', 'scrapes Prometheus endpoints'],
  ['prometheus_simple', 'scrapes one Prometheus endpoint'],
  ['prometheusremotewrite', 'receives Prometheus remote-write requests', { aliases: ['prometheus_remote_write'] }],
  ['pulsar', 'consumes telemetry from Apache Pulsar'],
  ['purefa', 'collects Pure Storage FlashArray metrics'],
  ['purefb', 'collects Pure Storage FlashBlade metrics'],
  ['rabbitmq', 'collects RabbitMQ metrics'],
  ['receiver_creator', 'starts receivers for endpoints an observer discovers'],
  ['redis', 'collects Redis metrics'],
  ['riak', 'collects Riak metrics'],
  ['saphana', 'collects SAP HANA metrics'],
  ['skywalking', 'receives Apache SkyWalking traces and metrics'],
  ['snmp', 'collects SNMP metrics'],
  ['snowflake', 'collects Snowflake account metrics'],
  ['solace', 'consumes traces from a Solace broker'],
  ['splunk_hec', 'receives Splunk HTTP Event Collector data'],
  ['splunkenterprise', 'collects Splunk Enterprise metrics'],
  ['sqlquery', 'turns SQL query results into metrics and logs'],
  ['sqlserver', 'collects Microsoft SQL Server metrics'],
  ['sshcheck', 'checks SSH connectivity'],
  ['statsd', 'receives StatsD metrics'],
  ['stef', 'receives STEF (Sequential Tabular Encoding Format) metrics'],
  ['syslog', 'receives syslog messages'],
  ['tcpcheck', 'checks TCP connectivity'],
  ['tcplog', 'receives logs over TCP', { aliases: ['tcp_log'] }],
  ['tlscheck', 'reports TLS certificate expiry'],
  ['udplog', 'receives logs over UDP', { aliases: ['udp_log'] }],
  ['vcenter', 'collects VMware vCenter metrics'],
  ['webhookevent', 'receives webhook calls as logs', { aliases: ['webhook_event'] }],
  ['windowseventlog', 'reads the Windows event log', { aliases: ['windows_event_log'] }],
  ['windowsperfcounters', 'collects Windows performance counters'],
  ['zipkin', 'receives Zipkin spans'],
  ['zookeeper', 'collects ZooKeeper metrics'],
  [
    'opencensus',
    'receives OpenCensus traces and metrics',
    { removed: { in: 'v0.134.0', use: 'the otlp receiver', builtin: { kind: 'receiver', type: 'otlp' } } },
  ],
  [
    'jmx',
    'collects JMX metrics through a Java helper',
    {
      removed: {
        in: 'v0.157.0',
        use: 'the otlp receiver',
        why: 'run the JMX scraper as its own Java process and have it send OTLP',
        builtin: { kind: 'receiver', type: 'otlp' },
      },
    },
  ],
  ['signalfx', 'receives SignalFx metrics and events', { removed: { in: 'v0.165.0', use: 'the otlp receiver', builtin: { kind: 'receiver', type: 'otlp' } } }],
  [
    'wavefront',
    'receives Wavefront metrics',
    { removed: { in: 'v0.162.0', use: 'the otlp receiver', why: 'have the senders send OTLP', builtin: { kind: 'receiver', type: 'otlp' } } },
  ],
  [
    'sapm',
    'receives spans in the Splunk APM (SAPM) format',
    { removed: { in: 'v0.133.0', use: 'the otlp receiver', why: 'have the senders send OTLP', builtin: { kind: 'receiver', type: 'otlp' } } },
  ],
];

const processors: Row[] = [
  ['coralogix', 'adds Coralogix span attributes'],
  ['cumulativetodelta', 'converts cumulative metrics to delta', { aliases: ['cumulative_to_delta'] }],
  ['deltatocumulative', 'converts delta metrics to cumulative'],
  ['deltatorate', 'converts delta sums to rates'],
  ['experimental_metricsgeneration', 'computes new metrics from existing ones'],
  ['geoip', 'adds geolocation attributes from IP addresses'],
  ['groupbyattrs', 'regroups records under resources by attributes'],
  ['groupbytrace', 'holds spans until their whole trace arrives'],
  ['interval', 'aggregates metrics and emits them once per interval'],
  ['isolationforest', 'scores records for anomalies (isolation forest)'],
  ['k8sattributes', 'adds Kubernetes pod metadata to telemetry', { aliases: ['k8s_attributes'] }],
  ['logdedup', 'merges duplicate log records into one with a count'],
  ['metricstarttime', 'sets start times of cumulative metrics', { aliases: ['metric_start_time'] }],
  ['metricstransform', 'renames and aggregates metrics'],
  ['remotetap', 'serves a live sample of the data over WebSocket'],
  ['schema', 'translates telemetry between semantic-convention schema versions'],
  ['span', 'renames spans and extracts attributes from span names'],
  ['sumologic', 'prepares telemetry for Sumo Logic'],
  [
    'routing',
    'routes telemetry to exporters by attribute',
    { removed: { in: 'v0.133.0', use: 'the routing connector', builtin: { kind: 'connector', type: 'routing' } } },
  ],
  [
    'spanmetrics',
    'computes request, error and duration metrics from spans',
    { removed: { in: 'v0.96.0', use: 'the spanmetrics connector', builtin: { kind: 'connector', type: 'spanmetrics' } } },
  ],
  ['servicegraph', 'builds service-graph metrics from spans', { removed: { in: 'v0.94.0', use: 'the servicegraph connector' } }],
  ['datadog', 'computes Datadog APM stats from spans', { removed: { in: 'v0.94.0', use: 'the datadog connector' } }],
];

const exporters: Row[] = [
  ['alibabacloud_logservice', 'sends telemetry to Alibaba Cloud Log Service'],
  ['awscloudwatchlogs', 'sends logs to AWS CloudWatch Logs'],
  ['awsemf', 'sends metrics to CloudWatch as Embedded Metric Format logs'],
  ['awskinesis', 'publishes telemetry to AWS Kinesis'],
  ['awss3', 'writes telemetry to AWS S3'],
  ['awsxray', 'sends spans to AWS X-Ray'],
  ['azureblob', 'writes telemetry to Azure Blob Storage', { aliases: ['azure_blob'] }],
  ['azuredataexplorer', 'sends telemetry to Azure Data Explorer'],
  ['azuremonitor', 'sends telemetry to Azure Monitor (Application Insights)'],
  ['bmc_helix', 'sends metrics to BMC Helix Operations Management', { aliases: ['bmchelix'] }],
  ['carbon', 'sends metrics to Graphite Carbon'],
  ['cassandra', 'writes traces and logs to Apache Cassandra'],
  ['clickhouse', 'writes telemetry to ClickHouse'],
  ['coralogix', 'sends telemetry to Coralogix'],
  ['datadog', 'sends telemetry to Datadog'],
  ['dataset', 'sends logs and traces to DataSet'],
  ['doris', 'writes telemetry to Apache Doris'],
  ['elasticsearch', 'indexes telemetry in Elasticsearch'],
  ['faro', 'sends telemetry to Grafana Faro'],
  ['googlecloud', 'sends telemetry to Google Cloud Observability'],
  ['googlecloudpubsub', 'publishes telemetry to Google Cloud Pub/Sub'],
  ['googlemanagedprometheus', 'sends metrics to Google Managed Service for Prometheus'],
  ['honeycombmarker', 'creates Honeycomb markers from logs', { aliases: ['honeycomb_marker'] }],
  ['influxdb', 'writes telemetry to InfluxDB'],
  ['kafka', 'publishes telemetry to Kafka topics'],
  ['logicmonitor', 'sends telemetry to LogicMonitor'],
  ['logzio', 'sends telemetry to Logz.io'],
  ['nop', 'drops everything it receives'],
  ['opensearch', 'indexes logs and traces in OpenSearch'],
  ['otelarrow', 'sends OTLP as Apache Arrow streams'],
  ['prometheus', 'serves received metrics for Prometheus to scrape'],
  ['prometheusremotewrite', 'pushes metrics with the Prometheus remote-write protocol', { aliases: ['prometheus_remote_write'] }],
  ['pulsar', 'publishes telemetry to Apache Pulsar'],
  ['rabbitmq', 'publishes telemetry to RabbitMQ'],
  ['sentry', 'sends spans to Sentry'],
  ['signalfx', 'sends metrics and events to Splunk Observability (SignalFx)'],
  ['splunk_hec', 'sends telemetry to a Splunk HTTP Event Collector'],
  ['stef', 'sends metrics in STEF (Sequential Tabular Encoding Format)'],
  ['sumologic', 'sends telemetry to Sumo Logic'],
  ['syslog', 'sends logs to a syslog server'],
  ['tencentcloud_logservice', 'sends logs to Tencent Cloud Log Service'],
  ['tinybird', 'sends telemetry to Tinybird'],
  ['zipkin', 'sends spans to a Zipkin server'],
  [
    'mezmo',
    'sends logs to Mezmo',
    { removed: { in: 'v0.161.0', use: 'the otlphttp exporter', why: 'Mezmo takes OTLP', builtin: { kind: 'exporter', type: 'otlphttp' } } },
  ],
  ['logging', 'logs the telemetry it receives', { removed: { in: 'v0.111.0', use: 'the debug exporter', builtin: { kind: 'exporter', type: 'debug' } } }],
  ['opencensus', 'sends OpenCensus traces and metrics', { removed: { in: 'v0.134.0', use: 'the otlp exporter', builtin: { kind: 'exporter', type: 'otlp' } } }],
  [
    'jaeger',
    'sends spans to Jaeger over gRPC',
    { removed: { in: 'v0.85.0', use: 'the otlp exporter', why: 'Jaeger takes OTLP', builtin: { kind: 'exporter', type: 'otlp' } } },
  ],
  [
    'jaeger_thrift',
    'sends spans to Jaeger as Thrift over HTTP',
    { removed: { in: 'v0.85.0', use: 'the otlphttp exporter', why: 'Jaeger takes OTLP', builtin: { kind: 'exporter', type: 'otlphttp' } } },
  ],
  [
    'loki',
    'pushes logs to Grafana Loki',
    { removed: { in: 'v0.131.0', use: 'the otlphttp exporter', why: 'Loki takes OTLP at /otlp', builtin: { kind: 'exporter', type: 'otlphttp' } } },
  ],
  [
    'sapm',
    'sends spans to Splunk APM in the SAPM format',
    { removed: { in: 'v0.147.0', use: 'the otlphttp exporter', why: 'Splunk APM takes OTLP', builtin: { kind: 'exporter', type: 'otlphttp' } } },
  ],
];

const extensions: Row[] = [
  ['ack', 'acknowledges data once processed, for agents that resend'],
  ['asapclient', 'signs outgoing requests with ASAP tokens'],
  ['awscloudwatchmetricstreams_encoding', 'decodes CloudWatch metric streams'],
  ['awslogs_encoding', 'decodes AWS log formats (CloudWatch, VPC flow, S3 access)', { aliases: ['aws_logs_encoding'] }],
  ['awsproxy', 'proxies X-Ray sampling calls to AWS'],
  ['azure_auth', 'authenticates requests with Azure credentials', { aliases: ['azureauth'] }],
  ['cgroup_runtime', 'sets Go runtime limits from the cgroup', { aliases: ['cgroupruntime'] }],
  ['datadog', 'reports collector metadata to Datadog'],
  ['db_storage', 'stores component state in a SQL database'],
  ['docker_observer', 'discovers Docker containers for receiver_creator'],
  ['ecs_observer', 'discovers ECS tasks for Prometheus scraping'],
  ['ecs_task_observer', 'discovers the containers of the current ECS task'],
  ['file_storage', 'stores persistent queue data in files (bbolt)'],
  ['googleclientauth', 'authenticates requests with Google credentials'],
  ['googlecloudlogentry_encoding', 'decodes Google Cloud LogEntry records', { aliases: ['google_cloud_logentry_encoding'] }],
  ['healthcheckv2', 'reports component status over HTTP and gRPC'],
  ['host_observer', 'discovers listening ports on the host'],
  ['http_forwarder', 'forwards HTTP requests to another endpoint'],
  ['jaeger_encoding', 'decodes Jaeger spans'],
  ['jaegerremotesampling', 'serves Jaeger remote sampling strategies'],
  ['json_log_encoding', 'decodes and encodes JSON logs'],
  ['k8s_leader_elector', 'elects a leader among replicas through a Kubernetes lease'],
  ['k8s_observer', 'discovers Kubernetes pods, ports and nodes'],
  ['opamp', 'reports to and is managed by an OpAMP server'],
  ['otlp_encoding', 'decodes and encodes OTLP payloads'],
  ['redis_storage', 'stores component state in Redis'],
  ['sigv4auth', 'signs outgoing requests with AWS SigV4'],
  ['skywalking_encoding', 'decodes SkyWalking segments'],
  ['sumologic', 'registers and authenticates the collector with Sumo Logic'],
  ['text_encoding', 'decodes and encodes plain-text logs'],
  ['zipkin_encoding', 'decodes and encodes Zipkin spans'],
  [
    'memory_ballast',
    'reserves heap to reduce Go garbage collections',
    {
      removed: {
        in: 'v0.109.0',
        use: 'the memory_limiter processor',
        why: 'it bounds memory without a ballast',
        builtin: { kind: 'processor', type: 'memory_limiter' },
      },
    },
  ],
  [
    'kafkatopics_observer',
    'discovers Kafka topics',
    { removed: { in: 'v0.159.0', use: 'the kafka receiver', why: 'it subscribes to topics by regular expression' } },
  ],
  ['httpforwarder', 'forwards HTTP requests to another endpoint', { removed: { in: 'v0.96.0', use: 'the http_forwarder extension' } }],
];

const connectors: Row[] = [
  ['datadog', 'computes Datadog APM stats from spans'],
  ['exceptions', 'turns span exceptions into metrics and logs'],
  ['failover', 'sends to the first healthy pipeline of a priority list'],
  ['grafanacloud', 'reports host counts for Grafana Cloud billing'],
  ['otlpjson', 'decodes OTLP JSON carried in log bodies'],
  ['roundrobin', 'spreads data over several pipelines in turn', { aliases: ['round_robin'] }],
  ['servicegraph', 'builds service-graph metrics from spans', { aliases: ['service_graph'] }],
  ['signaltometrics', 'computes metrics from any signal with OTTL', { aliases: ['signal_to_metrics'] }],
  ['sum', 'sums attribute values into metrics'],
];

const byKind: Array<[ComponentKind, Row[]]> = [
  ['receiver', receivers],
  ['processor', processors],
  ['exporter', exporters],
  ['extension', extensions],
  ['connector', connectors],
];

export const COLLECTOR_ONLY_COMPONENTS: readonly CollectorOnlyComponent[] = byKind.flatMap(([kind, rows]) =>
  rows.map(([type, what, extra]) => ({ kind, type, what, ...extra })),
);

/** The table's entry for a component type GopherShip lacks (by its type or an alias), if the collector has or had it. */
export function collectorOnlyComponent(kind: ComponentKind, type: string): CollectorOnlyComponent | undefined {
  return COLLECTOR_ONLY_COMPONENTS.find((c) => c.kind === kind && (c.type === type || (c.aliases ?? []).includes(type)));
}

/** "the otlp exporter (GopherShip has it): Jaeger takes OTLP": what replaces a removed component, and whether GopherShip has that. */
export function replacementText(removed: CollectorRemoval): string {
  const has = removed.builtin ? 'GopherShip has it' : 'not in GopherShip yet';
  return `${removed.use} (${has})${removed.why ? `: ${removed.why}` : ''}`;
}

/** The validation message for a table entry, named as the config wrote it (`written`: the type or an alias). */
export function collectorOnlyMessage(c: CollectorOnlyComponent, written: string): string {
  if (!c.removed) return `${c.kind} type "${written}": ${notSupportedYetMessage(c.what)}`;
  return `${c.kind} type "${written}" was removed from the collector in ${c.removed.in}; use ${replacementText(c.removed)}`;
}
