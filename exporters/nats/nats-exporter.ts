/**
 * The `nats` exporter: publishes each Export request, as the protobuf bytes the gateway holds, to a
 * JetStream subject per signal, and counts it delivered only once JetStream acknowledged it (stored, and
 * replicated where the stream has replicas). The message id is a hash of the request's bytes, so a
 * request resent after a lost acknowledgement, a retry or a restart is stored once within the stream's
 * duplicate window. Queue and retries are the shared exporterhelper's.
 */
import { createHash } from 'node:crypto';
import { headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import { CodedError, PermanentError, RetryableError, componentLabel, messageOf } from '../../src/core/errors.js';
import type { Signal } from '../../src/core/signal.js';
import { maskUrlCredentials } from '../../src/core/schema.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import type { Payload } from '../../src/pdata/payload.js';
import {
  CONTENT_TYPE_HEADER,
  PROTOBUF,
  SIGNAL_HEADER,
  jetStreamNotReady,
  jetStreamOffHint,
  logConnectionStatus,
  noStreamAnswered,
  subjectFor,
} from '../../src/nats/connection.js';
import { connectAtStart, connectLater, retryUntilReady } from '../../src/nats/background.js';
import type { NatsExporterConfig } from './config.js';

/** The message id JetStream de-duplicates on: the same bytes give the same id. */
export function messageIdOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

export class NatsExporter implements Exporter {
  private readonly helper: ExporterHelper;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private readonly subjects: Record<Signal, string>;
  /** Aborts the background connecting of a start that found no NATS server up, and the stream's setup. */
  private readonly stopping = new AbortController();
  private connecting: Promise<void> | undefined;
  /**
   * Whether the connection is up. The client keeps a publish made while it reconnects in a buffer that
   * its next attempt to connect throws away, so the publish would wait out `timeout` for an answer that
   * cannot come: a send while it is down fails at once instead, retryably, and the backoff sets the pace.
   */
  private linkUp = false;
  /** The publishes waiting for their acknowledgement: each gives up when the connection drops. */
  private readonly awaitingAck = new Set<(err: Error) => void>();
  /** Why the stream is not ready yet (stream.create while JetStream cannot take it); undefined once it is. */
  private streamPending: string | undefined;
  private settingUpStream: Promise<void> | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: NatsExporterConfig,
  ) {
    this.helper = new ExporterHelper(settings, config, (p, s) => this.send(p, s));
    this.subjects = {
      logs: subjectFor(config.subject_prefix, 'logs'),
      traces: subjectFor(config.subject_prefix, 'traces'),
      metrics: subjectFor(config.subject_prefix, 'metrics'),
    };
  }

  /**
   * Connects, or, when no NATS server answers yet, starts anyway and keeps connecting in the background:
   * the queue holds the requests meanwhile (a WAL queue across restarts), as for any downstream outage,
   * so an edge gateway can start, and take its clients' data, while NATS is down. A stream that JetStream
   * cannot take yet (a cluster still forming) is set up in the background too. Credentials or
   * certificates the server refuses, and a stream config JetStream refuses for good, still fail the start.
   */
  async start(_host?: Host): Promise<void> {
    const label = componentLabel(this.settings);
    const nc = await connectAtStart(this.config, label, this.settings.logger, 'the sending queue holds the data');
    if (nc) await this.connected(nc, true);
    else this.connecting = this.keepConnecting(label);
    await this.helper.start();
  }

  /**
   * Takes a new connection into use and, with stream.create, creates or updates the stream. At start
   * (`atStart`) a refusal that will not heal (a conflicting stream, JetStream off) fails the start; one
   * that heals by itself (a cluster still forming), and any refusal later on, leaves the stream to a
   * background setup that retries with backoff while sends are refused retryably.
   */
  private async connected(nc: NatsConnection, atStart: boolean): Promise<void> {
    this.nc = nc;
    this.js = jetstream(nc, { timeout: this.config.timeout });
    this.linkChanged(true);
    void logConnectionStatus(nc, this.config, this.settings.logger, (up) => this.linkChanged(up));
    if (!this.config.stream.create) return;
    try {
      await this.ensureStream();
    } catch (err) {
      const notReady = jetStreamNotReady(err);
      if (atStart && notReady === undefined) {
        await nc.close();
        this.nc = undefined;
        this.js = undefined;
        throw err;
      }
      this.streamPending = notReady ?? messageOf(err);
      this.settings.logger.warn(
        `JetStream cannot take stream ${this.config.stream.name} yet; creating it in the background, and the sending queue holds the data meanwhile`,
        { waiting_for: this.streamPending },
      );
      this.settingUpStream = this.keepSettingUpStream();
    }
  }

  private linkChanged(up: boolean): void {
    this.linkUp = up;
    if (up) return;
    const lost = new Error('the connection to NATS was lost before JetStream acknowledged the publish; reconnecting');
    for (const giveUp of this.awaitingAck) giveUp(lost);
    this.awaitingAck.clear();
  }

  private async keepConnecting(label: string): Promise<void> {
    const nc = await connectLater(this.config, label, this.settings.logger, this.stopping.signal);
    if (nc) await this.connected(nc, false);
  }

  /**
   * Creates or updates the stream until JetStream takes it, with the setup's backoff (retryUntilReady).
   * What it waits for is logged once, and again only when that changes.
   */
  private async keepSettingUpStream(): Promise<void> {
    const ready = await retryUntilReady(
      () => this.ensureStream(),
      this.stopping.signal,
      (err) => {
        const why = jetStreamNotReady(err) ?? messageOf(err);
        if (why !== this.streamPending)
          this.settings.logger.warn(`JetStream still cannot take stream ${this.config.stream.name}; retrying in the background`, { waiting_for: why });
        this.streamPending = why;
      },
    );
    if (ready) this.streamPending = undefined;
  }

  private async ensureStream(): Promise<void> {
    const c = this.config;
    const name = c.stream.name;
    const jsm = await jetstreamManager(this.nc!, { timeout: c.timeout }).catch((err: unknown) => {
      throw new CodedError('GS_COMPONENT_START_FAILED', `${componentLabel(this.settings)}: stream ${name}: ${messageOf(err)}${jetStreamOffHint(err)}`, {
        cause: err,
      });
    });
    const wanted = {
      subjects: [`${c.subject_prefix}.>`],
      num_replicas: c.stream.replicas,
      max_age: nanos(c.stream.max_age),
      duplicate_window: nanos(c.stream.duplicate_window),
    };
    try {
      const have = (await jsm.streams.info(name)).config;
      // An update is a write JetStream replicates through the stream's Raft group: a stream already as
      // wanted (every restart of every gateway of a tier) is left alone, so a start or a background setup
      // in a cluster still settling does not wait on a write it does not need.
      const same =
        have.num_replicas === wanted.num_replicas &&
        have.max_age === wanted.max_age &&
        have.duplicate_window === wanted.duplicate_window &&
        have.subjects?.length === 1 &&
        have.subjects[0] === wanted.subjects[0];
      if (!same) await jsm.streams.update(name, wanted);
    } catch (err) {
      if (!/not found/i.test(messageOf(err)))
        throw new CodedError('GS_COMPONENT_START_FAILED', `${componentLabel(this.settings)}: stream ${name}: ${messageOf(err)}`, { cause: err });
      await jsm.streams.add({ name, ...wanted }).catch((err: unknown) => {
        throw new CodedError('GS_COMPONENT_START_FAILED', `${componentLabel(this.settings)}: cannot create stream ${name}: ${messageOf(err)}`, { cause: err });
      });
    }
    this.settings.logger.info('JetStream stream ready', { stream: name, subjects: wanted.subjects, replicas: c.stream.replicas });
  }

  /**
   * Publishes one request and waits for JetStream's acknowledgement. A batch larger than the server's
   * max_payload goes as the requests it joined, each its own message.
   */
  async send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    const js = this.js;
    if (js && this.nc && !this.linkUp)
      throw new RetryableError(`exporter ${this.settings.id.id}: the connection to NATS is lost; reconnecting every reconnect_wait`, {
        code: 'GS_EXPORTER_SEND_FAILED',
      });
    if (js && this.streamPending !== undefined)
      throw new RetryableError(
        `exporter ${this.settings.id.id}: JetStream stream ${this.config.stream.name} is not ready yet (${this.streamPending}); still trying`,
        {
          code: 'GS_EXPORTER_SEND_FAILED',
        },
      );
    if (!js || !this.nc) {
      if (this.connecting && !this.stopping.signal.aborted)
        throw new RetryableError(
          `exporter ${this.settings.id.id}: not connected to NATS yet (${this.config.servers.map(maskUrlCredentials).join(', ')}); still trying`,
          {
            code: 'GS_EXPORTER_SEND_FAILED',
          },
        );
      throw new RetryableError(`exporter ${this.settings.id.id} is not started`, { code: 'GS_COMPONENT_STOPPED' });
    }
    const max = this.nc.info?.max_payload ?? 1024 * 1024;
    const pieces = payload.byteLength <= max ? [payload.bytes] : payload.chunks();
    for (const piece of pieces) {
      if (piece.byteLength > max) {
        throw new PermanentError(
          `exporter ${this.settings.id.id}: a ${signal} request of ${piece.byteLength} bytes exceeds the NATS server's max_payload of ${max} bytes (raise max_payload in the server's config)`,
          { code: 'GS_EXPORTER_REJECTED' },
        );
      }
    }
    await Promise.all(pieces.map((piece) => this.publish(js, signal, piece)));
  }

  private async publish(js: JetStreamClient, signal: Signal, bytes: Uint8Array): Promise<void> {
    const h = natsHeaders();
    h.set(SIGNAL_HEADER, signal);
    h.set(CONTENT_TYPE_HEADER, PROTOBUF);
    try {
      // A publish whose connection drops before its acknowledgement came will not hear one (the server
      // answers on the lost connection): it gives up at once and is retried; the message id keeps a copy
      // JetStream did store from being stored twice.
      const acked = js.publish(this.subjects[signal], bytes, { msgID: messageIdOf(bytes), headers: h, timeout: this.config.timeout });
      let giveUp!: (err: Error) => void;
      const lost = new Promise<never>((_, reject) => (giveUp = reject));
      this.awaitingAck.add(giveUp);
      try {
        await Promise.race([acked, lost]);
      } finally {
        this.awaitingAck.delete(giveUp);
      }
    } catch (err) {
      // Every publish failure is worth another try: no stream yet or a leader election (no responders),
      // a timeout, a lost connection. The queue and retry settings bound how long.
      const why = (err as Error | undefined)?.name === 'JetStreamNotEnabled' ? noStreamAnswered(this.subjects[signal]) : messageOf(err);
      throw new RetryableError(`exporter ${this.settings.id.id}: JetStream publish of ${signal} to ${this.subjects[signal]} failed: ${why}`, {
        cause: err,
        code: 'GS_EXPORTER_SEND_FAILED',
      });
    }
  }

  consume(payload: Payload): Promise<void> {
    return this.helper.consume(payload);
  }

  async shutdown(): Promise<void> {
    await this.helper.shutdown();
    this.stopping.abort();
    await this.connecting;
    await this.settingUpStream;
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    await nc?.drain().catch(() => nc.close());
  }
}
