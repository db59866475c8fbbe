// The least that keeps the Red zone's durability promise, for the benchmarks to compare the WAL and the
// gateway with: appends are acknowledged only after an fdatasync, at most one fdatasync per window
// (`windowMs`), or sooner once `syncAfterBytes` were written since the last one started, and at once on an
// idle log (src/wal's rule, docs/durability.md). Bytes go to one file with O_DIRECT through the WAL's own
// appender (src/wal/direct.ts: copied into a page-aligned staging buffer, whole blocks written). No framing,
// no CRC, no segments, no budget: what is left is the disk and the group-commit pattern. As in the WAL's
// write loop, a due sync starts before more writes, is not waited for (the next writes go on beside it,
// their appends waiting for the next sync), and at most one runs at a time.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { DirectAppender, STAGING_BYTES, alignedBuffer } from '../../dist/src/wal/direct.js';

export class GroupCommitFile {
  /** Opens `path` (created) for O_DIRECT appends. */
  static async open(path, { windowMs = 10, syncAfterBytes = 1024 * 1024 } = {}) {
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT);
    const appender = new DirectAppender(alignedBuffer(STAGING_BYTES));
    await appender.attach(fh, 0);
    return new GroupCommitFile(fh, appender, windowMs, syncAfterBytes);
  }

  constructor(fh, appender, windowMs, syncAfterBytes) {
    this.fh = fh;
    this.appender = appender;
    this.windowMs = windowMs;
    this.syncAfterBytes = syncAfterBytes;
    /** Accepted, not yet written: { pieces, resolve }. */
    this.queue = [];
    /** Written, waiting for the next sync. */
    this.unsynced = [];
    /** Logical end of the bytes written. */
    this.pos = 0;
    this.lastSyncStart = -Infinity;
    this.bytesSinceSync = 0;
    this.running = false;
    /** The fdatasync under way, if any. */
    this.syncing = undefined;
    /** A failed fdatasync: nothing more written to this file is acknowledged. */
    this.failed = undefined;
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
          // Appends that came while the loop awaited its last step. A due sync that waits for the one under
          // way is started when that one ends (re-kicking here would spin in microtasks and starve it).
          if (this.queue.length > 0 || (this.syncing === undefined && this.syncDue())) this.kick();
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
      if (this.syncing === undefined && this.syncDue()) {
        clearTimeout(this.timer);
        this.timer = undefined;
        const done = this.unsynced;
        this.unsynced = [];
        this.bytesSinceSync = 0;
        this.lastSyncStart = performance.now();
        this.syncs++;
        this.syncing = this.fh.datasync().then(
          () => {
            this.syncing = undefined;
            for (const a of done) a.resolve();
            this.kick();
          },
          (err) => {
            this.syncing = undefined;
            // What was written beside it went to the same file: refused too.
            for (const a of [...done, ...this.unsynced]) a.reject(err);
            this.unsynced = [];
            this.failed = err;
          },
        );
        continue;
      }
      if (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.write(batch);
        if (this.failed) for (const a of batch) a.reject(this.failed);
        else for (const a of batch) this.unsynced.push(a);
        continue;
      }
      if (this.unsynced.length > 0 && this.timer === undefined && this.syncing === undefined) {
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

  /** Writes the batch's bytes at the end with the WAL's own O_DIRECT appender (src/wal/direct.ts). */
  async write(batch) {
    const iov = [];
    let bytes = 0;
    for (const { pieces } of batch)
      for (const p of pieces) {
        iov.push(p);
        bytes += p.length;
      }
    await this.appender.write(iov, bytes, this.pos);
    this.pos += bytes;
    this.bytesSinceSync += bytes;
  }

  async close() {
    await this.syncing;
    clearTimeout(this.timer);
    await this.fh.close();
  }
}
