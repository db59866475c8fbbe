// The least that keeps the Red zone's durability promise, for the benchmarks to compare the WAL and the
// gateway with: appends are acknowledged only after an fdatasync, at most one fdatasync per window
// (`windowMs`), or sooner once `syncAfterBytes` were written since the last one started, and at once on an
// idle log (src/wal's rule, docs/durability.md). Bytes go to one file with O_DIRECT from a page-aligned
// buffer, as the WAL writes by default. No framing, no CRC, no segments, no budget: what is left is the
// disk and the group-commit pattern. Writes and syncs take turns (a due sync goes first), as in the WAL.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { DIRECT_ALIGN, STAGING_BYTES, alignedBuffer } from '../../dist/src/wal/direct.js';

export class GroupCommitFile {
  /** Opens `path` (created) for O_DIRECT appends. */
  static async open(path, { windowMs = 10, syncAfterBytes = 1024 * 1024 } = {}) {
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT);
    return new GroupCommitFile(fh, alignedBuffer(STAGING_BYTES), windowMs, syncAfterBytes);
  }

  constructor(fh, staging, windowMs, syncAfterBytes) {
    this.fh = fh;
    this.staging = staging;
    this.windowMs = windowMs;
    this.syncAfterBytes = syncAfterBytes;
    /** Accepted, not yet written: { pieces, resolve }. */
    this.queue = [];
    /** Written, waiting for the next sync. */
    this.unsynced = [];
    /** Logical end of the bytes written; the staging buffer holds its partial last block at [0, tail). */
    this.pos = 0;
    this.tail = 0;
    this.lastSyncStart = -Infinity;
    this.bytesSinceSync = 0;
    this.running = false;
    this.timer = undefined;
    this.syncs = 0;
  }

  /** Appends `pieces` (Uint8Arrays); resolves once they are fdatasynced. */
  append(pieces) {
    return new Promise((resolve, reject) => {
      this.queue.push({ pieces, resolve, reject });
      this.kick();
    });
  }

  kick() {
    if (this.running) return;
    this.running = true;
    queueMicrotask(() =>
      this.loop().then(
        () => {
          this.running = false;
          // Appends that came while the loop awaited its last step.
          if (this.queue.length > 0 || this.syncDue()) this.kick();
        },
        (err) => {
          this.running = false;
          for (const a of [...this.unsynced, ...this.queue]) a.reject(err);
          this.unsynced = [];
          this.queue = [];
        },
      ),
    );
  }

  syncDue() {
    return this.unsynced.length > 0 && (this.bytesSinceSync >= this.syncAfterBytes || performance.now() - this.lastSyncStart >= this.windowMs);
  }

  async loop() {
    for (;;) {
      if (this.syncDue()) {
        clearTimeout(this.timer);
        this.timer = undefined;
        const done = this.unsynced;
        this.unsynced = [];
        this.bytesSinceSync = 0;
        this.lastSyncStart = performance.now();
        this.syncs++;
        await this.fh.datasync();
        for (const a of done) a.resolve();
        continue;
      }
      if (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.write(batch);
        for (const a of batch) this.unsynced.push(a);
        continue;
      }
      if (this.unsynced.length > 0 && this.timer === undefined) {
        this.timer = setTimeout(
          () => {
            this.timer = undefined;
            this.kick();
          },
          Math.max(0, this.lastSyncStart + this.windowMs - performance.now()),
        );
      }
      return;
    }
  }

  /** Copies the batch's bytes after the staged tail and writes whole blocks (the last one zero-padded). */
  async write(batch) {
    const st = this.staging;
    let fill = this.tail;
    let fileOff = this.pos - this.tail;
    for (const { pieces } of batch) {
      for (const p of pieces) {
        for (let off = 0; off < p.length;) {
          const n = Math.min(p.length - off, st.length - fill);
          st.set(n === p.length ? p : p.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === st.length) {
            await this.fh.write(st, 0, fill, fileOff);
            fileOff += fill;
            fill = 0;
          }
        }
        this.pos += p.length;
        this.bytesSinceSync += p.length;
      }
    }
    if (fill > 0) {
      const padded = Math.ceil(fill / DIRECT_ALIGN) * DIRECT_ALIGN;
      st.fill(0, fill, padded);
      await this.fh.write(st, 0, padded, fileOff);
    }
    this.tail = this.pos % DIRECT_ALIGN;
    if (this.tail > 0 && fill !== this.tail) st.copyWithin(0, fill - this.tail, fill);
  }

  async close() {
    clearTimeout(this.timer);
    await this.fh.close();
  }
}
