/**
 * OTLP/gRPC exporter: unary Export calls on Node's HTTP/2 client (src/grpc/otlp-client.ts), so the
 * request bytes a pipeline holds are the bytes on the wire (no decode, no re-encode, no framing copy).
 */
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import type { Payload } from '../../src/pdata/payload.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import type { Signal } from '../../src/core/signal.js';
import { OtlpGrpcClient } from '../../src/grpc/otlp-client.js';
import type { OtlpExporterConfig } from './config.js';
import { componentLabel } from '../../src/core/errors.js';

export { errorOfCall } from '../../src/grpc/otlp-client.js';

export class OtlpGrpcExporter implements Exporter {
  private readonly client: OtlpGrpcClient;
  private readonly helper: ExporterHelper;

  constructor(settings: CreateSettings, config: OtlpExporterConfig) {
    this.client = new OtlpGrpcClient(componentLabel(settings), '', config.endpoint, config, settings.logger);
    this.helper = new ExporterHelper(settings, config, (p, s) => this.send(p, s), { timeoutMs: config.timeout });
  }

  async start(host?: Host): Promise<void> {
    await this.client.start(host);
    await this.helper.start();
  }

  /** Sends one request; no metrics, so a queue/retry layer can call it per attempt. */
  send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    return this.client.send(payload, signal);
  }

  /** Queue, retries and metrics: the shared exporterhelper around send(). */
  consume(payload: Payload): Promise<void> {
    return this.helper.consume(payload);
  }

  async shutdown(deadlineAt?: number): Promise<void> {
    // The queue drains (memory) or stops and keeps its data (wal) while the channel is still open.
    await this.helper.shutdown(deadlineAt);
    this.client.close();
  }
}
