/**
 * File exporter, after the collector's: each request is written as an OTLP/JSON line or a length-prefixed
 * protobuf (zstd-compressed requests are length-prefixed in either format), to one file or, with
 * group_by, to the file its resources' attribute names. Writing, batching and rotation are FileWriter's.
 */
import path from 'node:path';
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import { PermanentError, RetryableError, componentLabel } from '../../src/core/errors.js';
import type { Payload } from '../../src/pdata/payload.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import type { Signal } from '../../src/core/signal.js';
import { requestToJson } from '../../src/pdata/codec.js';
import { compress, prepareCompression } from '../../src/compression/index.js';
import type { FileExporterConfig } from './config.js';
import { FileWriter } from './file-writer.js';
import { splitByResourceAttribute } from './group-by.js';

const NEWLINE = Buffer.from('\n');

function lengthPrefix(n: number): Buffer {
  const hdr = Buffer.allocUnsafe(4);
  hdr.writeUInt32BE(n, 0);
  return hdr;
}

export class FileExporter implements Exporter {
  /** Open files by path, least recently written first (group_by closes from the front). */
  private readonly writers = new Map<string, Promise<FileWriter>>();
  private stopped = false;
  private started = false;
  private readonly file: string;
  private readonly helper: ExporterHelper;
  private readonly label: string;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: FileExporterConfig,
  ) {
    this.file = path.resolve(config.path);
    this.label = componentLabel(settings);
    this.helper = new ExporterHelper(settings, config, (p, s) => this.send(p, s));
  }

  async start(_host?: Host): Promise<void> {
    if (this.config.compression === 'zstd') await prepareCompression('zstd');
    // With group_by the files are opened as resources name them; the directory is made at start.
    if (!this.config.group_by.enabled) await this.writerFor(this.file);
    this.started = true;
    await this.helper.start();
  }

  /** The writer of `file`, opened on first use (concurrent first uses share one open). */
  private writerFor(file: string): Promise<FileWriter> {
    const open = this.writers.get(file);
    if (open) {
      // Most recently written last.
      this.writers.delete(file);
      this.writers.set(file, open);
      return open;
    }
    const w = new FileWriter(file, {
      append: this.config.append || this.config.group_by.enabled,
      rotation: this.config.rotation,
      flushIntervalMs: this.config.flush_interval,
      label: this.label,
    });
    const opened = w.open().then(
      () => w,
      (err: unknown) => {
        this.writers.delete(file);
        throw err;
      },
    );
    this.writers.set(file, opened);
    while (this.config.group_by.enabled && this.writers.size > this.config.group_by.max_open_files) {
      const [oldest, writer] = this.writers.entries().next().value as [string, Promise<FileWriter>];
      this.writers.delete(oldest);
      // Requests already handed to it are written before it closes.
      void writer.then((x) => x.close()).catch(() => {});
    }
    return opened;
  }

  /** The bytes one request takes in the file. */
  private async encode(signal: Signal, bytes: Uint8Array): Promise<{ bufs: Uint8Array[]; length: number }> {
    let body: Uint8Array = bytes;
    if (this.config.format === 'json') {
      try {
        body = Buffer.from(requestToJson(signal, bytes));
      } catch (err) {
        throw new PermanentError(`${this.label}: cannot render the ${signal} request as OTLP/JSON: ${(err as Error).message}`, {
          cause: err,
          code: 'GS_EXPORTER_REJECTED',
        });
      }
      if (this.config.compression === '') return { bufs: [body, NEWLINE], length: body.length + 1 };
    }
    if (this.config.compression === 'zstd') body = await compress('zstd', body);
    // The collector's framing for proto and for anything compressed: u32 big-endian length, then the bytes.
    return { bufs: [lengthPrefix(body.length), body], length: 4 + body.length };
  }

  /** Writes one request; no metrics, so a queue/retry layer can call it per attempt. */
  async send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    if (this.stopped || !this.started) throw new RetryableError(`${this.label} is not running`, { code: 'GS_COMPONENT_STOPPED' });
    const targets: Array<[string, Uint8Array]> = [];
    if (this.config.group_by.enabled) {
      for (const [value, part] of splitByResourceAttribute(payload.bytes, this.config.group_by.resource_attribute)) {
        // A value is one path segment: separators in it cannot climb out of the directory.
        targets.push([path.resolve(this.file.replace('*', value.replace(/[/\\]/g, '_'))), part]);
      }
    } else targets.push([this.file, payload.bytes]);
    await Promise.all(
      targets.map(async ([file, bytes]) => {
        const { bufs, length } = await this.encode(signal, bytes);
        const writer = await this.writerFor(file);
        await writer.write(bufs, length).catch((err: unknown) => {
          throw new RetryableError((err as Error).message, { cause: err, code: 'GS_EXPORTER_SEND_FAILED' });
        });
      }),
    );
  }

  /** Metrics (and a queue or retries, if configured): the shared exporterhelper around send(). */
  consume(payload: Payload): Promise<void> {
    return this.helper.consume(payload);
  }

  /** Writes what is queued, fsyncs and closes every file. */
  async shutdown(deadlineAt?: number): Promise<void> {
    // A configured queue drains into the file before it closes.
    await this.helper.shutdown(deadlineAt);
    this.stopped = true;
    const writers = [...this.writers.values()];
    this.writers.clear();
    await Promise.all(
      writers.map((w) =>
        w.then(
          (x) => x.close(),
          () => {},
        ),
      ),
    );
  }
}
