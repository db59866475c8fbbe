/**
 * The `nats` exporter: publishes each Export request, as the protobuf bytes the gateway holds, to a
 * JetStream subject per signal, and counts it delivered only once JetStream acknowledged it (stored, and
 * replicated where the stream has replicas). The message id is a hash of the request's bytes, so a
 * request resent after a lost acknowledgement, a retry or a restart is stored once within the stream's
 * duplicate window. Queue and retries are the shared exporterhelper's.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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
  connectNats,
  isUnreachable,
  jetStreamOffHint,
  logConnectionStatus,
  subjectFor,
} from '../../src/nats/connection.js';
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
  /** Aborts the background connecting of a start that found no NATS server up. */
  private readonly stopping = new AbortController();
  private connecting: Promise<void> | undefined;

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
   * so an edge gateway can start, and take its clients' data, while NATS is down. Credentials or
   * certificates the server refuses still fail the start.
   */
  async start(_host?: Host): Promise<void> {
    const c = this.config;
    const label = componentLabel(this.settings);
    try {
      await this.connected(await connectNats(c, label, this.settings.logger));
    } catch (err) {
      if (!isUnreachable((err as Error).cause)) throw err;
      this.settings.logger.warn('no NATS server answers yet; starting anyway and connecting in the background (the sending queue holds the data)', {
        servers: c.servers.map(maskUrlCredentials),
        error: messageOf((err as Error).cause),
      });
      this.connecting = this.keepConnecting(label);
    }
    await this.helper.start();
  }

  private async connected(nc: NatsConnection): Promise<void> {
    this.nc = nc;
    void logConnectionStatus(nc, this.config, this.settings.logger);
    if (this.config.stream.create) await this.ensureStream();
    this.js = jetstream(nc, { timeout: this.config.timeout });
  }

  private async keepConnecting(label: string): Promise<void> {
    const signal = this.stopping.signal;
    // Said once until it changes: the same refusal at every reconnect_wait would flood the log.
    let lastRefusal = '';
    while (!signal.aborted) {
      await sleep(this.config.reconnect_wait, undefined, { signal }).catch(() => {});
      if (signal.aborted) return;
      let nc: NatsConnection;
      try {
        nc = await connectNats(this.config, label, this.settings.logger);
      } catch (err) {
        const refusal = isUnreachable((err as Error).cause) ? '' : messageOf(err);
        if (refusal && refusal !== lastRefusal) this.settings.logger.error('cannot connect to NATS; trying again every reconnect_wait', { error: refusal });
        lastRefusal = refusal;
        continue;
      }
      if (signal.aborted) {
        await nc.close();
        return;
      }
      try {
        await this.connected(nc);
      } catch (err) {
        // The stream could not be made: publishes fail (retryably) until someone creates it.
        this.settings.logger.error('connected to NATS, but the stream could not be created or updated', { error: messageOf(err) });
        this.js = jetstream(nc, { timeout: this.config.timeout });
      }
      this.settings.logger.info('connected to NATS', { servers: this.config.servers });
      return;
    }
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
      await jsm.streams.info(name);
      await jsm.streams.update(name, wanted);
    } catch (err) {
      if (!/not found/i.test(messageOf(err)))
        throw new CodedError('GS_COMPONENT_START_FAILED', `${componentLabel(this.settings)}: stream ${name}: ${messageOf(err)}`, { cause: err });
      await jsm.streams.add({ name, ...wanted });
    }
    this.settings.logger.info('JetStream stream ready', { stream: name, subjects: wanted.subjects, replicas: c.stream.replicas });
  }

  /**
   * Publishes one request and waits for JetStream's acknowledgement. A batch larger than the server's
   * max_payload goes as the requests it joined, each its own message.
   */
  async send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    const js = this.js;
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
      await js.publish(this.subjects[signal], bytes, { msgID: messageIdOf(bytes), headers: h, timeout: this.config.timeout });
    } catch (err) {
      // Every publish failure is worth another try: no stream yet (no responders), a leader election,
      // a timeout, a lost connection. The queue and retry settings bound how long.
      throw new RetryableError(
        `exporter ${this.settings.id.id}: JetStream publish of ${signal} to ${this.subjects[signal]} failed: ${messageOf(err)}${jetStreamOffHint(err)}`,
        {
          cause: err,
          code: 'GS_EXPORTER_SEND_FAILED',
        },
      );
    }
  }

  consume(payload: Payload): Promise<void> {
    return this.helper.consume(payload);
  }

  async shutdown(): Promise<void> {
    await this.helper.shutdown();
    this.stopping.abort();
    await this.connecting;
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    await nc?.drain().catch(() => nc.close());
  }
}
