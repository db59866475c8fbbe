/**
 * The loadbalancing exporter's config: the collector-contrib keys (exporter/loadbalancingexporter):
 * `routing_key`, `routing_attributes`, `protocol.otlp` (the otlp exporter's settings for every backend, its
 * endpoint ignored), `resolver.static` or `resolver.dns`, and the exporter helper's `timeout`,
 * `sending_queue`, `retry_on_failure` in front of the split (off by default, as contrib's).
 */
import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';
import { checkGrpcClient, otlpGrpcClientShape } from '../../src/grpc/otlp-client.js';

const resolver = s.object({
  static: s
    .presence(s.object({ hostnames: s.array(s.string()).default([]).describe('backends as host or host:port (default port 4317)') }))
    .describe('a fixed list of backends'),
  dns: s
    .presence(
      s.object({
        hostname: s.string().default('').describe("name resolved to the backends' IP addresses (A and AAAA records)"),
        port: s.string().default('4317').describe('port of every resolved backend'),
        interval: s.duration().default(5000).describe('how often the name is resolved again'),
        timeout: s.duration().default(1000).describe('deadline of one resolution'),
      }),
    )
    .describe('backends from a DNS name, re-resolved every interval'),
  k8s: s.notYet("resolves the backends from a Kubernetes Service's endpoints; use dns on a headless Service"),
  aws_cloud_map: s.notYet('resolves the backends from AWS Cloud Map'),
});

const base = s.object({
  routing_key: s
    .enum('traceID', 'service', 'resource', 'metric', 'streamID', 'attributes')
    .default('traceID')
    .describe(
      'what keeps data together on one backend: traceID (spans, logs), service (service.name), resource (all resource attributes), metric (resource + metric name), streamID (each metric data point by its stream), attributes (routing_attributes)',
    ),
  routing_attributes: s
    .array(s.string())
    .default([])
    .describe(
      'with routing_key attributes: the attributes whose values make the key, each looked up in the resource, then the scope, then the span, log record or data point (pseudo attributes span.kind, span.name, log.severity, log.body)',
    ),
  protocol: s.object({
    otlp: s.object({
      endpoint: s.string().default('').describe("ignored: each backend's endpoint comes from the resolver"),
      ...otlpGrpcClientShape(),
      ...exporterHelperShape(),
    }),
  }),
  resolver,
  // The collector's exporterhelper around the whole exporter, in front of the split: off by default.
  timeout: s.duration().default(0).describe("bounds one attempt through the whole exporter (the split and every backend's answer); 0 = no bound"),
  ...exporterHelperShape({ queueEnabled: false, retryEnabled: false }),
});

export const loadBalancingConfig = s.refine(base, (c, path, issues) => {
  checkGrpcClient(c.protocol.otlp, [...path, 'protocol', 'otlp'], issues);
  const r = c.resolver;
  if ((r.static === undefined) === (r.dns === undefined)) {
    issues.push({ path: [...path, 'resolver'], message: 'needs exactly one of static or dns' });
  }
  if (r.static && r.static.hostnames.length === 0)
    issues.push({ path: [...path, 'resolver', 'static', 'hostnames'], message: 'is empty: list the backends (host or host:port)' });
  if (r.dns && r.dns.hostname === '') issues.push({ path: [...path, 'resolver', 'dns', 'hostname'], message: 'is required: the DNS name of the backends' });
  if (c.routing_key === 'attributes' && c.routing_attributes.length === 0)
    issues.push({ path: [...path, 'routing_attributes'], message: 'is required with routing_key attributes: list the attributes that make the key' });
  if (c.routing_key !== 'attributes' && c.routing_attributes.length > 0)
    issues.push({ path: [...path, 'routing_attributes'], message: `applies only with routing_key attributes (routing_key is ${c.routing_key})` });
});

export type LoadBalancingConfig = ConfigOf<typeof base>;
