/**
 * Batch processor: joins the encoded requests of one pipeline's signal byte for byte (repeated fields
 * concatenate, so the join is a valid request; nothing is decoded) and sends the batch on size or timeout.
 * Every request that went into a batch shares the batch's outcome, so a receiver still answers its client
 * only after the data was accepted downstream.
 */
import { isReplay, replayMeta } from '../../src/somatic/zone.js';
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import type { BatchProcessorConfig } from './config.js';
import type { RequestMeta } from '../../src/core/auth.js';
import { RetryableError, componentLabel } from '../../src/core/errors.js';
import { batchKey, pickClientInfo } from '../../src/pdata/client-info.js';
import { sharedCounter, sharedGauge, sharedHistogram } from '../../src/telemetry/metrics.js';
import { METRICS } from './metadata.js';

/** Why a batch was sent, for the collector's trigger counters: it filled, or time (timeout, idle, shutdown) sent it first. */
type Trigger = 'size' | 'timeout';

/** One open batch: its parts and the one promise every contributing request waits on. */
class Batch {
  readonly parts: Payload[] = [];
  constructor(
    /** The metadata_keys values that keyed it ('' without metadata_keys). */
    readonly key: string,
    /** The client info every request in it shares (those keys only), handed on with the batch. */
    readonly meta: RequestMeta | undefined,
  ) {
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }
  items = 0;
  /** Received requests in the batch (a part may itself hold several). */
  requests = 0;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  /** Requests in the batch when the idle check last looked (flush_when_idle). */
  seenByIdleCheck = 0;
  idleCheck: NodeJS.Immediate | undefined;
}

export class BatchProcessor implements Processor {
  /** Open batches by their metadata_keys values (one, keyed '', without metadata_keys). */
  private readonly open = new Map<string, Batch>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private readonly labels: { processor: string; otel_signal: Signal };
  private readonly size: number;
  private readonly maxSize: number;
  /** This instance's series of the batch metrics (observed once per batch sent). */
  private readonly m: {
    sendSize: { observe(v: number): void };
    sendSizeBytes: { observe(v: number): void };
    sizeTrigger: { inc(): void };
    timeoutTrigger: { inc(): void };
    cardinality: { inc(): void; dec(): void };
  };
  /** Without metadata_keys, the one combination counted in metadata_cardinality while started. */
  private countedSingle = false;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: BatchProcessorConfig,
    private readonly signal: Signal,
    private readonly next: Consumer,
  ) {
    this.labels = { processor: settings.id.id, otel_signal: signal };
    // 0, as in the collector, ignores the size: every batch reaches it at once, so each request goes on as is.
    this.size = config.send_batch_size;
    this.maxSize = config.send_batch_max_size > 0 ? config.send_batch_max_size : Infinity;
    const reg = settings.telemetry.registry;
    const own = { processor: settings.id.id };
    this.m = {
      sendSize: sharedHistogram(reg, METRICS.sendSize).labels(own),
      sendSizeBytes: sharedHistogram(reg, METRICS.sendSizeBytes).labels(own),
      sizeTrigger: sharedCounter(reg, METRICS.sizeTrigger).labels(own),
      timeoutTrigger: sharedCounter(reg, METRICS.timeoutTrigger).labels(own),
      cardinality: sharedGauge(reg, METRICS.metadataCardinality).labels(own),
    };
  }

  async start(_host?: Host): Promise<void> {
    // One combination, as the collector reports without metadata_keys; with them, each open batch counts.
    if (this.config.metadata_keys.length === 0 && !this.countedSingle) {
      this.countedSingle = true;
      this.m.cardinality.inc();
    }
  }

  consume(payload: Payload): Promise<void> {
    let items: number;
    try {
      items = payload.itemCount;
    } catch (err) {
      return Promise.reject(err);
    }
    this.settings.telemetry.processorIncoming.inc(this.labels, items);
    if (this.stopped) return this.export(payload, items, undefined);

    const keys = this.config.metadata_keys;
    const key = keys.length === 0 ? '' : batchKey(payload.meta, keys);
    let batch = this.open.get(key);
    // A request that would push the open batch over the hard bound closes it first.
    if (batch && batch.items + items > this.maxSize) {
      this.flush(batch, 'size');
      batch = undefined;
    }
    if (items > this.maxSize) {
      // Larger than a whole batch may be: it goes alone (requests are not split).
      return this.export(payload, items, 'size');
    }
    if (!batch) {
      const limit = this.config.metadata_cardinality_limit;
      if (keys.length > 0 && limit > 0 && this.open.size >= limit) {
        return Promise.reject(
          new RetryableError(
            `${componentLabel(this.settings)}: ${limit} batches with distinct metadata_keys values are open (metadata_cardinality_limit); retry shortly`,
            { code: 'GS_QUEUE_FULL' },
          ),
        );
      }
      const created = new Batch(key, keys.length === 0 ? undefined : pickClientInfo(payload.meta, keys));
      batch = created;
      this.open.set(key, created);
      if (keys.length > 0) this.m.cardinality.inc();
      created.timer = setTimeout(() => {
        if (this.open.get(key) === created) this.flush(created, 'timeout');
      }, this.config.timeout);
    }
    batch.parts.push(payload);
    batch.items += items;
    batch.requests += payload.requests;
    const done = batch.done;
    if (batch.items >= this.size) this.flush(batch, 'size');
    else if (this.config.flush_when_idle && batch.idleCheck === undefined) this.scheduleIdleCheck(batch);
    return done;
  }

  /**
   * Clients wait for the batch their request is in, so a batch that stopped growing goes now rather than
   * at the timeout: checked once per event-loop turn (after that turn's I/O), cheaply with setImmediate.
   * Under steady load requests join every turn and batches still fill to send_batch_size.
   */
  private scheduleIdleCheck(batch: Batch): void {
    batch.idleCheck = setImmediate(() => {
      batch.idleCheck = undefined;
      if (this.open.get(batch.key) !== batch) return;
      if (batch.parts.length === batch.seenByIdleCheck) this.flush(batch, 'timeout');
      else {
        batch.seenByIdleCheck = batch.parts.length;
        this.scheduleIdleCheck(batch);
      }
    });
  }

  /** Sends an open batch; its promise settles with the downstream outcome. */
  private flush(batch: Batch, trigger: Trigger): void {
    if (this.open.get(batch.key) !== batch) return;
    this.open.delete(batch.key);
    if (this.config.metadata_keys.length > 0) this.m.cardinality.dec();
    clearTimeout(batch.timer);
    if (batch.idleCheck) clearImmediate(batch.idleCheck);
    const out =
      batch.parts.length === 1
        ? batch.parts[0]!
        : // Kept as parts: an exporter that writes pieces in turn never copies the batch into one buffer.
          Payload.fromParts(
            this.signal,
            batch.parts.flatMap((p) => p.chunks()),
            // A batch holding replayed somatic debt stays marked as replay: the exporter's WAL queue then
            // knows the debt is durable upstream. Either way the batch keeps its metadata_keys values
            // (replayed requests carry their client info from the WAL record's tag).
            { itemCount: batch.items, requests: batch.requests, meta: batch.parts.some((p) => isReplay(p.meta)) ? replayMeta(batch.meta) : batch.meta },
          );
    this.export(out, batch.items, trigger).then(batch.resolve, batch.reject);
  }

  /** Hands a batch on; `trigger` is what sent it (none for a request passed through after shutdown began). */
  private export(payload: Payload, items: number, trigger: Trigger | undefined): Promise<void> {
    this.settings.telemetry.processorOutgoing.inc(this.labels, items);
    this.m.sendSize.observe(items);
    this.m.sendSizeBytes.observe(payload.byteLength);
    if (trigger === 'size') this.m.sizeTrigger.inc();
    else if (trigger === 'timeout') this.m.timeoutTrigger.inc();
    let p: Promise<void>;
    try {
      p = this.next.consume(payload);
    } catch (err) {
      p = Promise.reject(err);
    }
    // Tracked so shutdown can wait for batches already handed downstream.
    const tracked = p.then(
      () => {},
      () => {},
    );
    this.inFlight.add(tracked);
    void tracked.then(() => this.inFlight.delete(tracked));
    return p;
  }

  /** Sends what is open and waits for every batch handed downstream to settle. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    // What is still open goes now, before it filled: the collector counts these as timeout sends.
    for (const batch of [...this.open.values()]) this.flush(batch, 'timeout');
    if (this.countedSingle) {
      this.countedSingle = false;
      this.m.cardinality.dec();
    }
    await Promise.all([...this.inFlight]);
  }
}
