/**
 * loadbalancing exporter: routes each span (by trace ID), log record (by trace ID), resource (by service or
 * resource) or metric to one backend of a consistent-hashing ring, so that everything of one trace reaches
 * the same second-layer gateway. Requests are split on the wire (split.ts): no decode.
 *
 * Each backend is its own sub-exporter: an OTLP/gRPC client with the `protocol.otlp` settings behind its
 * own exporterhelper (queue, retries, metrics labelled `<id>/<endpoint>`). A request is acknowledged when
 * every backend it was split to accepted its part (enqueued, or sent when the queue is disabled); if one
 * refuses, the whole request is refused and the client's retry may duplicate the parts others accepted
 * (at-least-once, as everywhere in the gateway).
 *
 * Membership: the resolver reports endpoint lists. A new backend is started before the ring includes it. A
 * backend that leaves is taken out of the ring first, then its queue drains by routing each request it
 * still holds through the new ring (its sends no longer go to it), so its data moves to the backends that
 * now own its keys instead of being dropped or waiting for a backend that is gone.
 */
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import { PermanentError, RetryableError, componentLabel } from '../../src/core/errors.js';
import type { Counter, Gauge } from 'prom-client';
import type { SeriesHistogram } from '../../src/telemetry/histogram.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import { OtlpGrpcClient } from '../../src/grpc/otlp-client.js';
import type { LoadBalancingConfig } from './config.js';
import { HashRing } from './ring.js';
import { LOG_TRACE_ID, Routers, SPAN_TRACE_ID } from './routers.js';
import { DnsResolver, StaticResolver, type LookupFn, type Resolver } from './resolver.js';
import { WireSplitter, type Router } from './split.js';
import { PartCoalescer } from './coalesce.js';
import { METRICS } from './metadata.js';
import { sharedCounter, sharedGauge, sharedHistogram } from '../../src/telemetry/metrics.js';

interface Backend {
  readonly endpoint: string;
  readonly client: OtlpGrpcClient;
  readonly helper: ExporterHelper;
  /** Out of the ring: what its queue still holds is routed again. */
  leaving: boolean;
  /** otelcol_loadbalancer_backend_outcome{endpoint, success} for this backend, resolved once (no label lookup per call). */
  readonly succeeded: { inc(): void };
  readonly failed: { inc(): void };
  /** otelcol_loadbalancer_backend_latency{endpoint}, resolved once. */
  readonly latency: { observe(ms: number): void };
}

/** The most a batch of parts for one backend holds (coalesce.ts); a part past it starts another. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export class LoadBalancingExporter implements Exporter {
  private readonly routers = new Routers();
  private readonly router: Record<Signal, Router>;
  private readonly splitter: WireSplitter;
  /** Undefined with an authenticator: its headers may come from each request's client info. */
  private readonly coalescer: PartCoalescer<Backend> | undefined;
  private readonly resolver: Resolver;
  private readonly byEndpoint = new Map<string, Backend>();
  /** Aligned with routers.ring.endpoints. */
  private backends: Backend[] = [];
  private readonly draining = new Set<Promise<void>>();
  private updating: Promise<void> = Promise.resolve();
  private readonly numBackends: Gauge<string>;
  private readonly numResolutions: Counter<string>;
  private readonly numBackendUpdates: Counter<string>;
  private readonly backendOutcome: Counter<string>;
  private readonly backendLatency: SeriesHistogram;
  private host: Host | undefined;
  /** The top-level timeout, sending_queue and retry_on_failure in front of the split, when any is on. */
  private readonly front: ExporterHelper | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: LoadBalancingConfig,
    lookup?: LookupFn,
  ) {
    const key = config.routing_key;
    const rt = this.routers;
    const byKey = key === 'service' ? rt.service() : key === 'resource' ? rt.resource() : undefined;
    const byAttributes = (signal: Signal) => (key === 'attributes' ? rt.attributes(config.routing_attributes, signal) : undefined);
    this.router = {
      traces: byAttributes('traces') ?? byKey ?? rt.traceId(SPAN_TRACE_ID),
      logs: byAttributes('logs') ?? byKey ?? rt.traceId(LOG_TRACE_ID),
      // Metrics have no trace ID: traceID routes them by service, as resources.
      metrics:
        byAttributes('metrics') ?? (key === 'metric' ? rt.metric() : key === 'streamID' ? rt.streamId() : key === 'resource' ? rt.resource() : rt.service()),
    };
    // Parts that may wait in a sending queue are copied out; sent at once, they are views of the request
    // (joined when they are many small pieces: a split by data point).
    this.splitter = new WireSplitter(config.protocol.otlp.sending_queue.enabled, true);
    const otlp = config.protocol.otlp;
    if (otlp.auth === undefined)
      this.coalescer = new PartCoalescer(
        // A batch gathered for a backend that left the ring meanwhile goes where the ring now routes it.
        (b, p) => (b.leaving ? this.route(p) : b.helper.consume(p)),
        Math.min(MAX_BATCH_BYTES, Math.floor(otlp.max_message_size / 2)),
      );
    this.numBackends = sharedGauge(settings.telemetry.registry, METRICS.numBackends);
    this.numResolutions = sharedCounter(settings.telemetry.registry, METRICS.numResolutions);
    this.numBackendUpdates = sharedCounter(settings.telemetry.registry, METRICS.numBackendUpdates);
    this.backendOutcome = sharedCounter(settings.telemetry.registry, METRICS.backendOutcome);
    this.backendLatency = sharedHistogram(settings.telemetry.registry, METRICS.backendLatency);
    // An attempt of the front helper is one split: a retry splits the request again by the ring of its time.
    if (config.sending_queue.enabled || config.retry_on_failure.enabled || config.timeout > 0)
      this.front = new ExporterHelper(settings, config, (p) => this.route(p), { timeoutMs: config.timeout });
    const r = config.resolver;
    this.resolver = r.dns ? new DnsResolver(r.dns, settings.logger, lookup) : new StaticResolver(r.static?.hostnames ?? []);
  }

  /** The backends in the ring now (sorted endpoints). */
  get endpoints(): readonly string[] {
    return this.routers.ring.endpoints;
  }

  async start(host?: Host): Promise<void> {
    this.host = host;
    const resolver = this.config.resolver.dns ? 'dns' : 'static';
    await this.resolver.start(
      (endpoints) => {
        this.numBackendUpdates.inc({ resolver });
        return (this.updating = this.updating.then(() => this.update(endpoints)));
      },
      (success) => this.numResolutions.inc({ resolver, success: String(success) }),
    );
    // After the first resolution: what a WAL queue kept from the last run is routed as it is read back.
    await this.front?.start();
  }

  private async update(endpoints: string[]): Promise<void> {
    const added: Backend[] = [];
    for (const endpoint of endpoints) {
      if (this.byEndpoint.has(endpoint)) continue;
      const b = this.newBackend(endpoint);
      await b.client.start(this.host);
      await b.helper.start();
      this.byEndpoint.set(endpoint, b);
      added.push(b);
    }
    const keep = new Set(endpoints);
    const removed = [...this.byEndpoint.values()].filter((b) => !keep.has(b.endpoint));
    for (const b of removed) this.byEndpoint.delete(b.endpoint);
    const ring = new HashRing(endpoints);
    this.routers.ring = ring;
    this.backends = ring.endpoints.map((e) => this.byEndpoint.get(e)!);
    this.numBackends.set({ resolver: this.config.resolver.dns ? 'dns' : 'static' }, ring.size);
    if (added.length > 0 || removed.length > 0) {
      this.settings.logger.info('loadbalancing backends changed', {
        exporter: this.settings.id.id,
        added: added.map((b) => b.endpoint),
        removed: removed.map((b) => b.endpoint),
        backends: ring.endpoints,
      });
    }
    for (const b of removed) {
      b.leaving = true;
      // A request waiting to retry is tried once more, which routes it through the new ring, rather than
      // kept on disk for this endpoint's return.
      const drained = b.helper
        .shutdown(undefined, { attemptAfterStop: true })
        .then(() => b.client.close())
        .finally(() => this.draining.delete(drained));
      this.draining.add(drained);
    }
  }

  private newBackend(endpoint: string): Backend {
    const id = `${this.settings.id.id}/${endpoint}`;
    const settings: CreateSettings = { ...this.settings, id: { type: this.settings.id.type, name: `${this.settings.id.name}/${endpoint}`, id } };
    const client = new OtlpGrpcClient(componentLabel(settings), 'protocol.otlp', endpoint, this.config.protocol.otlp, this.settings.logger);
    const backend: Backend = {
      endpoint,
      client,
      leaving: false,
      succeeded: this.backendOutcome.labels({ endpoint, success: 'true' }),
      failed: this.backendOutcome.labels({ endpoint, success: 'false' }),
      latency: this.backendLatency.labels({ endpoint }),
      helper: new ExporterHelper(settings, this.config.protocol.otlp, (p, signal) => this.sendTo(backend, p, signal), {
        timeoutMs: this.config.protocol.otlp.timeout,
      }),
    };
    return backend;
  }

  /** One attempt to a backend; once it left the ring, its data goes where the ring now routes it. */
  private async sendTo(backend: Backend, payload: Payload, signal: Signal): Promise<void> {
    if (backend.leaving) return this.route(payload);
    const start = performance.now();
    try {
      await backend.client.send(payload, signal);
      backend.latency.observe(performance.now() - start);
      backend.succeeded.inc();
    } catch (err) {
      // As the collector, a failed attempt's time counts too (a timeout shows as the slow end).
      backend.latency.observe(performance.now() - start);
      backend.failed.inc();
      // An attempt that failed while the backend was leaving (its queue stopping) is not given up.
      if (backend.leaving && !(err instanceof PermanentError)) return this.route(payload);
      throw err;
    }
  }

  consume(payload: Payload): Promise<void> {
    return this.front ? this.front.consume(payload) : this.route(payload);
  }

  /** Splits the request by the current ring and hands each part to its backend's queue. */
  private route(payload: Payload): Promise<void> {
    const backends = this.backends;
    if (backends.length === 0)
      return Promise.reject(
        new RetryableError(`exporter ${this.settings.id.id}: no backend resolved yet`, { retryAfterMs: 1000, code: 'GS_EXPORTER_SEND_FAILED' }),
      );
    let parts: (Uint8Array[] | undefined)[];
    try {
      parts = this.splitter.split(payload.bytes, backends.length, this.router[payload.signal]);
    } catch (err) {
      // Bytes the splitter cannot read: retrying them cannot help.
      return Promise.reject(
        new PermanentError(`exporter ${this.settings.id.id}: cannot split the ${payload.signal} request: ${(err as Error).message}`, {
          cause: err,
          code: 'GS_REQUEST_MALFORMED',
        }),
      );
    }
    const pending: Promise<void>[] = [];
    for (let i = 0; i < parts.length; i++) {
      const pieces = parts[i];
      if (pieces === undefined) continue;
      // The split counted each part's leaves: spans and log records are its items (a metric holds several data points).
      const itemCount = payload.signal === 'metrics' ? undefined : this.splitter.leaves[i];
      const part =
        pieces[0] === payload.bytes
          ? payload
          : Payload.fromParts(payload.signal, pieces, { meta: payload.meta as Record<string, string> | undefined, itemCount });
      pending.push(this.coalescer ? this.coalescer.add(backends[i]!, part) : backends[i]!.helper.consume(part));
    }
    if (pending.length === 1) return pending[0]!;
    return Promise.all(pending).then(() => undefined);
  }

  async shutdown(deadlineAt?: number): Promise<void> {
    // The front queue drains into the backends first, while they still run.
    await this.front?.shutdown(deadlineAt);
    this.coalescer?.flush();
    await this.resolver.shutdown();
    await this.updating;
    // Leaving backends first: they route what they hold into the members, which then drain as usual.
    await Promise.all([...this.draining]);
    const all = [...this.byEndpoint.values()];
    this.byEndpoint.clear();
    await Promise.all(all.map((b) => b.helper.shutdown(deadlineAt).then(() => b.client.close())));
  }
}
