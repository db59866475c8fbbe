/**
 * File exporter: appends requests to a file through one async file handle. Writes are serialized: while
 * one write is in flight the next requests gather and go out together in one writev, so a busy pipeline
 * costs few syscalls. A request's promise resolves once its bytes are written (handed to the OS); the
 * file is fsynced at rotation and on shutdown.
 */
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import type { Payload } from '../../src/pdata/payload.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import type { Signal } from '../../src/core/signal.js';
import { requestToJson } from '../../src/pdata/codec.js';
import type { FileExporterConfig } from './config.js';

const NEWLINE = Buffer.from('\n');

interface Entry {
  bufs: Uint8Array[];
  length: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class FileExporter implements Exporter {
  private handle: FileHandle | undefined;
  /** Bytes in the current file. */
  private size = 0;
  private queue: Entry[] = [];
  private draining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private started = false;
  private readonly maxBytes: number;
  private readonly file: string;
  private readonly helper: ExporterHelper;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: FileExporterConfig,
  ) {
    this.file = path.resolve(config.path);
    this.maxBytes = config.rotation.max_megabytes * 1024 * 1024;
    this.helper = new ExporterHelper(settings, config, (p, s) => this.send(p, s));
  }

  async start(_host?: Host): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await this.openFile();
    this.started = true;
    await this.helper.start();
  }

  private async openFile(): Promise<void> {
    try {
      this.handle = await open(this.file, 'a');
      this.size = (await this.handle.stat()).size;
    } catch (err) {
      throw new Error(`exporter ${this.settings.id.id}: cannot open path ${this.file}: ${(err as Error).message}`);
    }
  }

  /** Writes one request; no metrics, so a queue/retry layer can call it per attempt. */
  send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    if (this.stopped || !this.started) return Promise.reject(new RetryableError(`exporter ${this.settings.id.id} is not running`));
    let bufs: Uint8Array[];
    let length: number;
    if (this.config.format === 'proto') {
      // The collector's proto framing: u32 big-endian length, then the request bytes.
      const bytes = payload.bytes;
      const hdr = Buffer.allocUnsafe(4);
      hdr.writeUInt32BE(bytes.length, 0);
      bufs = [hdr, bytes];
      length = 4 + bytes.length;
    } else {
      let line: Buffer;
      try {
        line = Buffer.from(requestToJson(signal, payload.bytes));
      } catch (err) {
        return Promise.reject(new PermanentError(`exporter ${this.settings.id.id}: cannot render the ${signal} request as OTLP/JSON: ${(err as Error).message}`, { cause: err }));
      }
      bufs = [line, NEWLINE];
      length = line.length + 1;
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bufs, length, resolve, reject });
      if (this.config.flush_interval > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.kick();
        }, this.config.flush_interval);
      } else this.kick();
    });
  }

  /** Metrics (and a queue or retries, if configured): the shared exporterhelper around send(). */
  consume(payload: Payload): Promise<void> {
    return this.helper.consume(payload);
  }

  private kick(): Promise<void> {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      // Requests that arrived during the last write (with no flush timer pending) go now.
      if (this.queue.length > 0 && (this.timer === undefined || this.stopped)) void this.kick();
    });
    return this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const entries = this.queue;
      this.queue = [];
      let group: Entry[] = [];
      let groupBytes = 0;
      try {
        // A failed rotation leaves no file open; try again rather than fail forever.
        if (!this.handle) await this.openFile();
        for (const e of entries) {
          const fill = this.size + groupBytes;
          if (this.maxBytes > 0 && fill > 0 && fill + e.length > this.maxBytes) {
            await this.writeGroup(group, groupBytes);
            group = [];
            groupBytes = 0;
            await this.rotate();
          }
          group.push(e);
          groupBytes += e.length;
        }
        await this.writeGroup(group, groupBytes);
      } catch (err) {
        const e = new RetryableError(`exporter ${this.settings.id.id}: writing ${this.file} failed: ${(err as Error).message}`, { cause: err });
        // Entries already written were resolved; rejecting them again is a no-op.
        for (const entry of entries) entry.reject(e);
      }
    }
  }

  private async writeGroup(group: Entry[], bytes: number): Promise<void> {
    if (group.length === 0) return;
    const bufs: Uint8Array[] = [];
    for (const e of group) for (const b of e.bufs) bufs.push(b);
    let written = (await this.handle!.writev(bufs)).bytesWritten;
    // writev may write less than asked; finish the rest from a joined copy (rare).
    if (written < bytes) {
      const all = Buffer.concat(bufs, bytes);
      while (written < bytes) written += (await this.handle!.write(all, written, bytes - written)).bytesWritten;
    }
    this.size += bytes;
    for (const e of group) e.resolve();
  }

  /** path -> path.1, path.1 -> path.2, ...; files beyond max_backups are deleted. */
  private async rotate(): Promise<void> {
    const h = this.handle!;
    this.handle = undefined;
    await h.sync();
    await h.close();
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)$`);
    const indexes: number[] = [];
    for (const name of await readdir(dir)) {
      const m = re.exec(name);
      if (m) indexes.push(Number(m[1]));
    }
    indexes.sort((a, b) => b - a);
    const keep = this.config.rotation.max_backups;
    for (const n of indexes) {
      const from = `${this.file}.${n}`;
      if (keep > 0 && n >= keep) await unlink(from);
      else await rename(from, `${this.file}.${n + 1}`);
    }
    await rename(this.file, `${this.file}.1`);
    await this.openFile();
  }

  /** Writes what is queued, fsyncs and closes the file. */
  async shutdown(deadlineAt?: number): Promise<void> {
    // A configured queue drains into the file before it closes.
    await this.helper.shutdown(deadlineAt);
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.draining || this.queue.length > 0) await this.kick();
    const h = this.handle;
    this.handle = undefined;
    if (h) {
      await h.sync();
      await h.close();
    }
  }
}

