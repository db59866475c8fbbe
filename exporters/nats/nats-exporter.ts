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
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import type { Payload } from '../../src/pdata/payload.js';
import { CONTENT_TYPE_HEADER, PROTOBUF, SIGNAL_HEADER, connectNats, subjectFor } from '../../src/nats/connection.js';
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

  async start(_host?: Host): Promise<void> {
    const c = this.config;
    this.nc = await connectNats(c, componentLabel(this.settings));
    this.js = jetstream(this.nc, { timeout: c.timeout });
    if (c.stream.create) await this.ensureStream();
    void this.watchStatus(this.nc);
    await this.helper.start();
  }

  private async ensureStream(): Promise<void> {
    const c = this.config;
    const name = c.stream.name;
    const jsm = await jetstreamManager(this.nc!, { timeout: c.timeout });
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

  /** Logs disconnects and reconnects: the queue holds the data meanwhile; the log says why it waits. */
  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const st of nc.status()) {
      if (st.type === 'disconnect' || st.type === 'reconnect') this.settings.logger.warn(`NATS ${st.type}`, { server: 'server' in st ? st.server : undefined });
    }
  }

  /**
   * Publishes one request and waits for JetStream's acknowledgement. A batch larger than the server's
   * max_payload goes as the requests it joined, each its own message.
   */
  async send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    const js = this.js;
    if (!js || !this.nc) throw new RetryableError(`exporter ${this.settings.id.id} is not started`, { code: 'GS_COMPONENT_STOPPED' });
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
      throw new RetryableError(`exporter ${this.settings.id.id}: JetStream publish of ${signal} to ${this.subjects[signal]} failed: ${messageOf(err)}`, {
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
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    await nc?.drain().catch(() => nc.close());
  }
}
