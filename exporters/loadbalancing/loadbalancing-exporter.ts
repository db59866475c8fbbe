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
import { Gauge, type Registry } from 'prom-client';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import { OtlpGrpcClient } from '../../src/grpc/otlp-client.js';
import { AttrList, FIELD, findLenField, utf8, type Range } from '../../src/processorhelper/wire-edit.js';
import type { LoadBalancingConfig } from './config.js';
import { HashRing, MAX_POSITIONS, crc32 } from './ring.js';
import { DnsResolver, StaticResolver, type LookupFn, type Resolver } from './resolver.js';
import { WireSplitter, type Router } from './split.js';
import { PartCoalescer } from './coalesce.js';
import { METRICS } from './metadata.js';

interface Backend {
  readonly endpoint: string;
  readonly client: OtlpGrpcClient;
  readonly helper: ExporterHelper;
  /** Out of the ring: what its queue still holds is routed again. */
  leaving: boolean;
}

/** The most a batch of parts for one backend holds (coalesce.ts); a part past it starts another. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

const SERVICE_NAME = utf8('service.name');
const SPAN_TRACE_ID = 1;
const LOG_TRACE_ID = 9;

/** The routers, one per routing key and signal; they read the ring at call time. */
class Routers {
  private current = new HashRing([]);
  private readonly r: Range = { start: 0, end: 0 };
  // The last span's trace ID and backend: spans of one trace usually sit together, and comparing 16 bytes
  // costs less than hashing them.
  private readonly lastTraceId = Buffer.alloc(16);
  private lastBackend = -1;

  get ring(): HashRing {
    return this.current;
  }
  set ring(ring: HashRing) {
    this.current = ring;
    this.lastBackend = -1;
  }

  private spanBackend(buf: Uint8Array, s: number): number {
    const last = this.lastTraceId;
    if (this.lastBackend >= 0) {
      let i = 0;
      while (i < 16 && buf[s + i] === last[i]) i++;
      if (i === 16) return this.lastBackend;
    }
    for (let i = 0; i < 16; i++) last[i] = buf[s + i]!;
    return (this.lastBackend = this.current.backendFor(buf, s, s + 16));
  }
  private readonly attrs = new AttrList();
  private roundRobin = 0;

  /** Spans or log records by trace ID. */
  traceId(field: number): Router {
    return {
      resource: () => -1,
      leaf: (buf, s, e) => {
        // Encoders write trace_id first in a span: read it in place without scanning the span.
        if (field === SPAN_TRACE_ID && e - s > 18 && buf[s] === 0x0a && buf[s + 1] === 16) return this.spanBackend(buf, s + 2);
        if (findLenField(buf, s, e, field, this.r) && this.r.end - this.r.start === 16) return this.ring.backendFor(buf, this.r.start, this.r.end);
        // No trace ID (logs): spread, as the collector picks a random backend.
        return this.roundRobin++ % this.ring.size;
      },
    };
  }

  /** Whole resources by their service.name (absent: the empty name). */
  service(): Router {
    return {
      resource: (buf, s, e) => {
        if (!findLenField(buf, s, e, FIELD.resource, this.r)) return this.ring.backendFor(buf, 0, 0);
        const a = this.attrs.load(buf, this.r.start, this.r.end, FIELD.resourceAttributes);
        const i = a.indexOf(SERVICE_NAME);
        if (i < 0) return this.ring.backendFor(buf, 0, 0);
        const v = a.rawBytes(i);
        return this.ring.backendFor(v, 0, v.length);
      },
      leaf: () => 0,
    };
  }

  /** Whole resources by all their attributes (the Resource message's bytes). */
  resource(): Router {
    return {
      resource: (buf, s, e) =>
        findLenField(buf, s, e, FIELD.resource, this.r) ? this.ring.backendFor(buf, this.r.start, this.r.end) : this.ring.backendFor(buf, 0, 0),
      leaf: () => 0,
    };
  }

  /** Each metric by its resource and name. */
  metric(): Router {
    return {
      resource: () => -1,
      leaf: (buf, s, e, rs, re) => {
        let h = findLenField(buf, rs, re, FIELD.resource, this.r) ? crc32(buf, this.r.start, this.r.end) : 0;
        if (findLenField(buf, s, e, FIELD.metricName, this.r)) h = crc32(buf, this.r.start, this.r.end, h);
        return this.ring.backendForPosition(h % MAX_POSITIONS);
      },
    };
  }
}

function numBackendsGauge(registry: Registry): Gauge<string> {
  const def = METRICS.numBackends;
  const existing = registry.getSingleMetric(def.name);
  if (existing) return existing as Gauge<string>;
  return new Gauge({ name: def.name, help: def.description, labelNames: [...def.labels], registers: [registry] });
}

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
  private host: Host | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: LoadBalancingConfig,
    lookup?: LookupFn,
  ) {
    const key = config.routing_key;
    const byKey = key === 'service' ? this.routers.service() : key === 'resource' ? this.routers.resource() : undefined;
    this.router = {
      traces: byKey ?? this.routers.traceId(SPAN_TRACE_ID),
      logs: byKey ?? this.routers.traceId(LOG_TRACE_ID),
      // Metrics have no trace ID: traceID routes them by service, as resources.
      metrics: key === 'metric' ? this.routers.metric() : key === 'resource' ? this.routers.resource() : this.routers.service(),
    };
    // Parts that may wait in a sending queue are copied out; sent at once, they are views of the request.
    this.splitter = new WireSplitter(config.protocol.otlp.sending_queue.enabled);
    const otlp = config.protocol.otlp;
    if (otlp.auth === undefined)
      this.coalescer = new PartCoalescer(
        // A batch gathered for a backend that left the ring meanwhile goes where the ring now routes it.
        (b, p) => (b.leaving ? this.route(p) : b.helper.consume(p)),
        Math.min(MAX_BATCH_BYTES, Math.floor(otlp.max_message_size / 2)),
      );
    this.numBackends = numBackendsGauge(settings.telemetry.registry);
    const r = config.resolver;
    this.resolver = r.dns ? new DnsResolver(r.dns, settings.logger, lookup) : new StaticResolver(r.static?.hostnames ?? []);
  }

  /** The backends in the ring now (sorted endpoints). */
  get endpoints(): readonly string[] {
    return this.routers.ring.endpoints;
  }

  async start(host?: Host): Promise<void> {
    this.host = host;
    await this.resolver.start((endpoints) => (this.updating = this.updating.then(() => this.update(endpoints))));
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
      helper: new ExporterHelper(settings, this.config.protocol.otlp, (p, signal) => this.sendTo(backend, p, signal), {
        timeoutMs: this.config.protocol.otlp.timeout,
      }),
    };
    return backend;
  }

  /** One attempt to a backend; once it left the ring, its data goes where the ring now routes it. */
  private async sendTo(backend: Backend, payload: Payload, signal: Signal): Promise<void> {
    if (backend.leaving) return this.route(payload);
    try {
      await backend.client.send(payload, signal);
    } catch (err) {
      // An attempt that failed while the backend was leaving (its queue stopping) is not given up.
      if (backend.leaving && !(err instanceof PermanentError)) return this.route(payload);
      throw err;
    }
  }

  consume(payload: Payload): Promise<void> {
    return this.route(payload);
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
