/**
 * The `nats` receiver: a durable JetStream pull consumer feeding a pipeline. A message is acknowledged
 * only once the pipeline accepted its request; a retryable refusal (somatic pressure, a full queue) naks
 * it with a delay, so pressure slows consumption instead of dropping; a request that can never be
 * accepted (bad bytes, a permanent refusal) is terminated, counted and logged. Gateways naming the same
 * durable consumer share its messages, which scales the processing tier out.
 *
 * Terminations carry no reason text: nats-server 2.9 (Debian's) ignores a `+TERM` with one. The log line
 * says why instead.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  type Consumer as JsConsumer,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { millis, nanos } from '@nats-io/transport-node';
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Receiver } from '../../src/core/component.js';
import { CodedError, componentLabel, isPermanent, isRetryable, messageOf } from '../../src/core/errors.js';
import { isSignal, type Signal } from '../../src/core/signal.js';
import { Payload } from '../../src/pdata/payload.js';
import { validateRequest } from '../../src/pdata/validate.js';
import { SIGNAL_HEADER, connectNats, jetStreamOffHint, logConnectionStatus } from '../../src/nats/connection.js';
import type { NatsReceiverConfig } from './config.js';

/**
 * How long one pull request lives on the consumer's leader. A pull request dies with the server leading the
 * consumer, and the client notices only after two missed idle heartbeats (half this each): with the
 * client's default of 30 s the whole tier stalled for 30-45 s after losing one NATS server, although every
 * message was safe in the stream. 2 s (heartbeats every 1 s) bounds it to seconds (7-8 s measured, with
 * the stream's election and the edge's retries; 11-16 s with 5 s), for one small request per 2 s when idle.
 */
export const PULL_EXPIRES_MS = 2000;

/** The longest wait before pulling again after a pull failed (a leader election, a consumer being recreated). */
const PULL_RETRY_MAX_MS = 2000;

export class NatsReceiver implements Receiver {
  private nc: NatsConnection | undefined;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly labels: { receiver: string; transport: string };
  /** The consumer's ack_wait (the existing consumer's own, else the configured one): a message in the pipeline says it is in progress twice per it. */
  private ackWaitMs: number;
  /** Messages the live pull requests asked JetStream for that have not arrived yet: each has a free pipeline slot waiting for it. */
  private requested = 0;
  /** The live pull requests (closed at shutdown). */
  private readonly pulls = new Set<ConsumerMessages>();
  /** Wakes the pull loop: a slot freed, a pull ended, shutdown. */
  private wake: (() => void) | undefined;
  private readonly stopping = new AbortController();
  /** The last pull's failure, logged once until a message arrives or it changes. */
  private pullFailure = '';
  /** The wait before the next pull: 0, or growing while pulls fail. */
  private pullRetryMs = 0;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: NatsReceiverConfig,
    private readonly next: Partial<Record<Signal, Consumer>>,
  ) {
    this.labels = { receiver: settings.id.id, transport: 'nats' };
    this.ackWaitMs = config.ack_wait;
  }

  async start(host: Host): Promise<void> {
    const c = this.config;
    this.nc = await connectNats(c, componentLabel(this.settings), this.settings.logger);
    void logConnectionStatus(this.nc, c, this.settings.logger);
    try {
      await this.ensureConsumer();
    } catch (err) {
      await this.nc.close();
      this.nc = undefined;
      throw err;
    }
    const consumer = await jetstream(this.nc).consumers.get(c.stream, c.durable);
    this.loop = this.pullLoop(consumer).catch((err: unknown) =>
      host.reportFatalError(
        new CodedError('GS_COMPONENT_FAILED', `${componentLabel(this.settings)}: consuming ${c.stream}/${c.durable} failed: ${messageOf(err)}`, { cause: err }),
      ),
    );
    this.settings.logger.info('NATS receiver consuming', { stream: c.stream, durable: c.durable });
  }

  /** Creates the durable consumer, or checks the one that exists. */
  private async ensureConsumer(): Promise<void> {
    const c = this.config;
    const jsm = await jetstreamManager(this.nc!).catch((err: unknown) => {
      throw new CodedError('GS_COMPONENT_START_FAILED', `${componentLabel(this.settings)}: stream ${c.stream}: ${messageOf(err)}${jetStreamOffHint(err)}`, {
        cause: err,
      });
    });
    try {
      const existing = (await jsm.consumers.info(c.stream, c.durable)).config;
      this.checkExisting(existing);
      if (existing.ack_wait) this.ackWaitMs = millis(existing.ack_wait);
      return;
    } catch (err) {
      if (err instanceof CodedError) throw err;
      if (!/not found/i.test(messageOf(err)))
        throw new CodedError('GS_COMPONENT_START_FAILED', `${componentLabel(this.settings)}: stream ${c.stream}: ${messageOf(err)}`, { cause: err });
    }
    try {
      // Two gateways starting at once may both create it; the second add finds the same config and succeeds.
      await jsm.consumers.add(c.stream, {
        durable_name: c.durable,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(c.ack_wait),
        max_ack_pending: Math.max(1000, c.max_in_flight * 4),
        ...(c.filter_subject ? { filter_subject: c.filter_subject } : {}),
      });
    } catch (err) {
      const noStream = /stream not found/i.test(messageOf(err));
      throw new CodedError(
        'GS_COMPONENT_START_FAILED',
        `${componentLabel(this.settings)}: cannot create durable consumer "${c.durable}" on stream ${c.stream}: ${messageOf(err)}` +
          (noStream ? " (create the stream, e.g. with the nats exporter's stream.create: true, or check the stream key)" : ''),
        { cause: err },
      );
    }
  }

  /**
   * A durable consumer keeps the settings it was created with, whatever a later config says: one that
   * would feed this receiver other subjects (whose messages no pipeline takes are terminated) or settle
   * messages other than one by one after the pipeline accepted each (ack_policy none or all) refuses the
   * start instead of losing data quietly.
   */
  private checkExisting(existing: ConsumerConfig): void {
    const c = this.config;
    const where = `${componentLabel(this.settings)}: durable consumer "${c.durable}" of stream ${c.stream} exists`;
    const fix = `a consumer keeps the settings it was created with: delete it (nats consumer rm ${c.stream} ${c.durable}) or set another durable`;
    if ((existing.filter_subject ?? '') !== c.filter_subject)
      throw new CodedError(
        'GS_COMPONENT_START_FAILED',
        `${where} with filter_subject "${existing.filter_subject ?? ''}", but filter_subject is "${c.filter_subject}" here; ${fix}`,
      );
    if (existing.ack_policy !== AckPolicy.Explicit)
      throw new CodedError(
        'GS_COMPONENT_START_FAILED',
        `${where} with ack_policy ${existing.ack_policy}; the receiver acknowledges each message once its pipeline accepted it, which needs ack_policy explicit; ${fix}`,
      );
  }

  /**
   * Pulls only as many messages as there are free pipeline slots. A message JetStream handed out starts
   * its ack_wait at once: one pulled ahead, while every slot was busy, would wait unacknowledged behind a
   * slow pipeline and be handed out again (to this gateway or another member of the durable), so it
   * would be delivered twice. Pulling for free slots also leaves the messages this gateway cannot take
   * yet to the other gateways that share the durable, where saying "in progress" (working()) on
   * messages held back would hoard them. A new pull waits until a few slots are free (a quarter of
   * max_in_flight), not one, so a busy pipeline costs a pull per few messages, not one per message.
   */
  private async pullLoop(consumer: JsConsumer): Promise<void> {
    const c = this.config;
    const atLeast = Math.max(1, Math.floor(c.max_in_flight / 4));
    const stopping = this.stopping.signal;
    while (!stopping.aborted) {
      const free = c.max_in_flight - this.inFlight.size - this.requested;
      if (free < atLeast) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if (this.pullRetryMs > 0) await sleep(this.pullRetryMs, undefined, { signal: stopping }).catch(() => {});
      if (stopping.aborted) return;
      this.requested += free;
      let pull: ConsumerMessages;
      try {
        pull = await consumer.fetch({ max_messages: free, expires: PULL_EXPIRES_MS });
      } catch (err) {
        this.requested -= free;
        this.pullFailed(err);
        continue;
      }
      if (stopping.aborted) {
        // Closing it unsubscribes at once; its promise settles only when something reads the pull, and nothing will.
        this.requested -= free;
        void pull.close().catch(() => {});
        return;
      }
      this.pulls.add(pull);
      void this.take(pull, free);
    }
  }

  /** Hands the messages of one pull to the pipeline as they arrive. */
  private async take(pull: ConsumerMessages, asked: number): Promise<void> {
    let awaited = asked;
    try {
      for await (const m of pull) {
        // A pull re-sent after a reconnect may bring more than was asked; those run too (a slot over).
        if (awaited > 0) {
          awaited--;
          this.requested--;
        }
        this.pullFailure = '';
        this.pullRetryMs = 0;
        this.deliver(m);
      }
      this.pullRetryMs = 0;
    } catch (err) {
      if (!this.stopping.signal.aborted) this.pullFailed(err);
    } finally {
      this.requested -= awaited;
      this.pulls.delete(pull);
      this.wakeLoop();
    }
  }

  /** Logs a failed pull (once until it changes) and makes the next pull wait longer. */
  private pullFailed(err: unknown): void {
    this.pullRetryMs = Math.min(Math.max(100, this.pullRetryMs * 2), PULL_RETRY_MAX_MS);
    const why = messageOf(err);
    if (why !== this.pullFailure)
      this.settings.logger.warn('NATS pull failed; pulling again', { stream: this.config.stream, durable: this.config.durable, error: why });
    this.pullFailure = why;
  }

  private wakeLoop(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Runs one message through the pipeline in a slot of its own. */
  private deliver(m: JsMsg): void {
    // Until it is settled, the message says it is in progress twice per ack_wait: a delivery that outlasts
    // ack_wait (a slow downstream, retries with no sending queue) would have JetStream hand it out again
    // meanwhile, and it would be delivered twice or more.
    const inProgress = setInterval(
      () => {
        try {
          m.working();
        } catch {
          // The connection is closed: the message goes back to JetStream after ack_wait.
        }
      },
      Math.max(100, this.ackWaitMs / 2),
    );
    const p = this.handle(m)
      // Settling it can fail only with the connection gone: JetStream hands the message out again after ack_wait.
      .catch((err: unknown) =>
        this.settings.logger.warn('could not settle a NATS message; it will be redelivered', { stream_seq: m.seq, error: messageOf(err) }),
      )
      .finally(() => {
        clearInterval(inProgress);
        this.inFlight.delete(p);
        this.wakeLoop();
      });
    this.inFlight.add(p);
  }

  private async handle(m: JsMsg): Promise<void> {
    const tel = this.settings.telemetry;
    const named = m.headers?.get(SIGNAL_HEADER) || m.subject.slice(m.subject.lastIndexOf('.') + 1);
    const signal: Signal | undefined = isSignal(named) ? named : undefined;
    const consumer = signal === undefined ? undefined : this.next[signal];
    if (signal === undefined || consumer === undefined) {
      m.term();
      this.settings.logger.warn('NATS message dropped: no pipeline takes it', { subject: m.subject, signal: named, stream_seq: m.seq });
      return;
    }
    let items: number;
    try {
      items = validateRequest(signal, m.data);
    } catch (err) {
      tel.receiverFailed[signal].inc(this.labels, 0);
      m.term();
      this.settings.logger.warn('NATS message is not a valid OTLP request; terminated', { subject: m.subject, stream_seq: m.seq, error: messageOf(err) });
      return;
    }
    tel.receiverBytes.inc(this.labels, m.data.byteLength);
    try {
      await consumer.consume(new Payload(signal, m.data, { itemCount: items }));
    } catch (err) {
      tel.receiverRefused[signal].inc(this.labels, items);
      if (isPermanent(err)) {
        m.term();
        this.settings.logger.error('pipeline refused a NATS message permanently; terminated', { stream_seq: m.seq, signal, items, error: messageOf(err) });
      } else {
        m.nak(isRetryable(err) && err.retryAfterMs !== undefined ? err.retryAfterMs : this.config.nak_delay);
      }
      return;
    }
    m.ack();
    tel.receiverAccepted[signal].inc(this.labels, items);
  }

  /** Stops pulling, lets the requests in the pipeline finish (and be acknowledged), then drains. */
  async shutdown(): Promise<void> {
    this.stopping.abort();
    this.wakeLoop();
    await Promise.allSettled([...this.pulls].map((p) => p.close()));
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    const nc = this.nc;
    this.nc = undefined;
    await nc?.drain().catch(() => nc.close());
  }
}
