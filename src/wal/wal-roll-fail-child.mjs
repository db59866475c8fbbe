// Child process for wal.crash.test.ts: a roll whose directory fsync fails (EMFILE: the new segment took the
// last free descriptor, so opening the directory to fsync it fails), then the write of the record that asked
// for the roll, a clean reopen and one more append. Prints one JSON line: what resolved, and what the reader
// delivered each time (sequence -> record id, or -1 for wrong bytes). Run it under a small `ulimit -n`.
// Usage: node wal-roll-fail-child.mjs <wal module url> <dir> [direct|buffered]
import { closeSync, openSync } from 'node:fs';

const [modUrl, dir, io = 'direct'] = process.argv.slice(2);
const { WriteAheadLog } = await import(modUrl);

const SIZES = { 1: 4096 - 18, 2: 4200, 3: 10 };
const data = (id) => {
  const b = Buffer.alloc(SIZES[id], id);
  b.writeUInt32BE(id, 0);
  return b;
};
const deliver = async (w, ack = true) => {
  const out = {};
  for (let recs = await w.read(100, 1 << 20); recs.length > 0; recs = await w.read(100, 1 << 20)) {
    for (const r of recs) {
      const id = r.data.readUInt32BE(0);
      out[r.sequence] = SIZES[id] !== undefined && r.data.equals(data(id)) ? id : -1;
      if (ack) w.ack(r.sequence);
    }
  }
  return out;
};
const settle = (p) =>
  p.then(
    (s) => s,
    (e) => `rejected: ${e.message}`,
  );

// A segment larger than the budget, so only the reclaim path rolls it; the first segment holds one record
// of 4096 bytes (a block-aligned end).
const opts = { dir, segmentSizeBytes: 1 << 20, maxSizeBytes: 8192, fsync: 'always', checkpointIntervalMs: 60_000, directIo: io === 'direct' };
let wal = await WriteAheadLog.open(opts);
const mode = wal.directIo ? 'direct' : 'buffered';
await wal.append(data(1));
await deliver(wal);

// Take every free descriptor but one: the roll's new segment gets it, the directory fsync does not.
const fds = [];
for (;;) {
  try {
    fds.push(openSync('/dev/null', 'r'));
  } catch (err) {
    if (err.code !== 'EMFILE') throw err;
    break;
  }
}
closeSync(fds.pop());
// Record 2 fits only once the acknowledged active segment is reclaimed: it asks for a roll, which fails.
const p2 = settle(wal.append(data(2)));
await new Promise((r) => setTimeout(r, 200));
for (const fd of fds) closeSync(fd);
// The failed roll left record 2 queued; a flush writes it.
await wal.flush();
const resolved2 = await p2;
// 1 when the roll failed, as it must for this test to mean anything.
const segments = wal.stats().segments;
// Delivered but not acknowledged: it must be delivered again after the reopen.
const live = await deliver(wal, false);
await wal.close();

wal = await WriteAheadLog.open(opts);
const reopened = await deliver(wal);
const resolved3 = await settle(wal.append(data(3)));
const after = await deliver(wal);
await wal.close();
process.stdout.write(JSON.stringify({ mode, resolved2, segments, live, reopened, resolved3, after }) + '\n');
