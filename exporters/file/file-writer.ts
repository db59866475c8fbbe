/**
 * One output file: requests are appended through one async file handle, one write at a time; requests
 * that arrive while a write is in flight (or within flush_interval) go out together in one writev. A
 * request's promise resolves once its bytes are written (handed to the OS); the file is fsynced at
 * rotation and on close. Rotation follows the collector's (lumberjack): before a write would take the
 * file past max_megabytes, it is renamed to `<name>-<time>.<ext>` (UTC, or local time) and a new file is
 * started; backups beyond max_backups, or older than max_days, are deleted.
 */
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { RotationConfig } from './config.js';
import { CodedError } from '../../src/core/errors.js';

interface Entry {
  bufs: Uint8Array[];
  length: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const DAY_MS = 24 * 3600 * 1000;

/** lumberjack's backup time stamp: 2006-01-02T15-04-05.000, in UTC or local time. */
export function backupStamp(d: Date, localtime: boolean): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const [y, mo, da, h, mi, s, ms] = localtime
    ? [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()]
    : [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()];
  return `${y}-${p(mo)}-${p(da)}T${p(h)}-${p(mi)}-${p(s)}.${p(ms, 3)}`;
}

/** The time a backup name holds (as written: UTC or local), or undefined for other files. */
function stampTime(stamp: string, localtime: boolean): number | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d)-(\d\d)-(\d\d)\.(\d{3})$/.exec(stamp);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return localtime ? new Date(y, mo - 1, d, h, mi, s, ms).getTime() : Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

export class FileWriter {
  private handle: FileHandle | undefined;
  private size = 0;
  private queue: Entry[] = [];
  private draining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly maxBytes: number;

  constructor(
    readonly file: string,
    private readonly opts: { append: boolean; rotation: RotationConfig | undefined; flushIntervalMs: number; label: string },
  ) {
    const mib = opts.rotation ? opts.rotation.max_megabytes || 100 : 0;
    this.maxBytes = mib * 1024 * 1024;
  }

  /** Opens the file: truncated unless `append`, as the collector opens it. */
  async open(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await this.openFile(this.opts.append ? 'a' : 'w');
  }

  private async openFile(flags: 'a' | 'w'): Promise<void> {
    try {
      this.handle = await open(this.file, flags);
      this.size = (await this.handle.stat()).size;
    } catch (err) {
      throw new CodedError('GS_COMPONENT_START_FAILED', `${this.opts.label}: cannot open path ${this.file}: ${(err as Error).message}`, { cause: err });
    }
  }

  write(bufs: Uint8Array[], length: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bufs, length, resolve, reject });
      if (this.opts.flushIntervalMs > 0 && !this.closed) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          void this.kick();
        }, this.opts.flushIntervalMs);
      } else void this.kick();
    });
  }

  private kick(): Promise<void> {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      // Requests that arrived during the last write (with no flush timer pending) go now.
      if (this.queue.length > 0 && (this.timer === undefined || this.closed)) void this.kick();
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
        if (!this.handle) await this.openFile('a');
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
        const e = new CodedError('GS_EXPORTER_SEND_FAILED', `${this.opts.label}: writing ${this.file} failed: ${(err as Error).message}`, { cause: err });
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

  /** The file becomes `<name>-<time>.<ext>`; then old backups go (max_backups, max_days). */
  private async rotate(): Promise<void> {
    const rotation = this.opts.rotation!;
    const h = this.handle!;
    this.handle = undefined;
    await h.sync();
    await h.close();
    const dir = path.dirname(this.file);
    const ext = path.extname(this.file);
    const prefix = `${path.basename(this.file, ext)}-`;
    let now = Date.now();
    let backup: string;
    // Two rotations within one millisecond would share a name: the later one takes the next millisecond.
    const taken = new Set(await readdir(dir));
    do backup = `${prefix}${backupStamp(new Date(now++), rotation.localtime)}${ext}`;
    while (taken.has(backup));
    await rename(this.file, path.join(dir, backup));
    await this.openFile('a');
    const backups: Array<{ name: string; time: number }> = [];
    for (const name of [...taken, backup]) {
      if (!name.startsWith(prefix) || !name.endsWith(ext)) continue;
      const time = stampTime(name.slice(prefix.length, name.length - ext.length), rotation.localtime);
      if (time !== undefined) backups.push({ name, time });
    }
    backups.sort((a, b) => b.time - a.time);
    const cutoff = rotation.max_days > 0 ? Date.now() - rotation.max_days * DAY_MS : -Infinity;
    for (const [i, b] of backups.entries()) {
      if ((rotation.max_backups > 0 && i >= rotation.max_backups) || b.time < cutoff) await unlink(path.join(dir, b.name)).catch(() => {});
    }
  }

  /** Writes what is queued, fsyncs and closes the file. */
  async close(): Promise<void> {
    this.closed = true;
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
