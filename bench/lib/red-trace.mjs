// A Red request's timeline inside the gateway, for bench/paced-ab.mjs (`DIR::--import=<this file>`): loaded
// before the gateway, it wraps node:http's request event and the WAL writer's steps (the same module
// instances the gateway then loads, from the build's dist/) and records, per request, when its first and last
// body bytes arrived, when the somatic processor appended it (after validation), when its CRC was done and
// it was queued, when the write that took it started and ended, when the fdatasync that covered it started
// and ended, and when the reply was finished. In bench/forwarder.mjs --durable (paced-ab's forwarder-durable
// row) it times the group commit's appends and writes the same way. On exit it writes the medians and p90s
// of each step to RED_TRACE_DIR/trace-<pid>.json (default: the temp dir), with the writes' and syncs' sizes
// and what made each sync due.
//   node bench/paced-ab.mjs --rows forwarder-durable,zone-red --closed 8 --rounds 1 \
//     ".::--import=$PWD/bench/lib/red-trace.mjs"
// A diagnostic: it adds a few closures and Map entries per request; not for CPU-per-record figures.
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// The build the process runs from: bin/gophership.js or bench/forwarder.mjs, two levels below it.
const root = process.env.RED_TRACE_ROOT ?? dirname(dirname(resolve(process.argv[1])));
const out = join(process.env.RED_TRACE_DIR ?? tmpdir(), `trace-${process.pid}.json`);
const { SegmentWriter } = await import(pathToFileURL(join(root, 'dist/src/wal/writer.js')).href);
const { AppendQueue } = await import(pathToFileURL(join(root, 'dist/src/wal/append-queue.js')).href);
// bench/forwarder.mjs --durable's group commit: its appends and writes (its syncs are not split out).
const { GroupCommitFile } = await import(pathToFileURL(join(root, 'bench/lib/group-commit.mjs')).href);

const now = () => performance.now();
// RED_TRACE_RAW=1: every write's and sync's CLOCK_MONOTONIC times (ns, process.hrtime, the clock of
// `perf record -k mono`) go into the JSON too, to set beside the kernel's own syscall times.
const raw = process.env.RED_TRACE_RAW === '1';
const hr = () => Number(process.hrtime.bigint());
/** Last body chunk -> the request's record. */
const byChunk = new WeakMap();
const done = [];
const writes = [];
const syncs = [];
let unsynced = [];
let lastDiskEnd = 0;

const origEmit = http.Server.prototype.emit;
http.Server.prototype.emit = function (ev, req, res) {
  if (ev === 'request') {
    const r = { start: now() };
    req.on('data', (c) => {
      r.first ??= now();
      r.last = now();
      byChunk.set(c, r);
    });
    req.on('end', () => (r.end = now()));
    res.on('finish', () => {
      r.finish = now();
      if (r.last !== undefined) done.push(r);
    });
  }
  return origEmit.apply(this, arguments);
};

const recOf = (data) => byChunk.get(Array.isArray(data) ? data[data.length - 1] : data);

const origAppend = SegmentWriter.prototype.append;
SegmentWriter.prototype.append = function (data, meta) {
  const r = recOf(data);
  if (r) r.append = now();
  return origAppend.call(this, data, meta);
};
const origPush = AppendQueue.prototype.push;
AppendQueue.prototype.push = function (data) {
  const r = recOf(data);
  if (r) r.queued = now();
  return origPush.apply(this, arguments);
};
const origWrite = SegmentWriter.prototype.writeBatch;
SegmentWriter.prototype.writeBatch = async function (n, bytes) {
  const q = this.queue;
  const recs = q.data.slice(q.head, q.head + n).map(recOf);
  const h0 = raw ? hr() : 0;
  const t0 = now();
  for (const r of recs) if (r) r.writeStart = t0;
  const syncDueBefore = this.syncDue;
  const idle = t0 - lastDiskEnd;
  const p = origWrite.call(this, n, bytes);
  const submitted = now();
  const hSub = raw ? hr() : 0;
  await p;
  const t1 = now();
  lastDiskEnd = t1;
  for (const r of recs) if (r) r.writeEnd = t1;
  writes.push({ n, bytes, ms: t1 - t0, copyMs: submitted - t0, idle, waitingBehind: q.length, syncDueBefore, h0, hSub, h1: raw ? hr() : 0 });
  unsynced.push(...recs);
};
const origSync = SegmentWriter.prototype.syncActive;
SegmentWriter.prototype.syncActive = async function () {
  const recs = unsynced;
  unsynced = [];
  const t0 = now();
  const bytesDue = this.unsyncedBytes >= this.opts.syncAfterBytes;
  const sinceLast = t0 - this.lastSyncStart;
  const idle = t0 - lastDiskEnd;
  for (const r of recs) if (r) r.syncStart = t0;
  const h0 = raw ? hr() : 0;
  await origSync.call(this);
  const h1 = raw ? hr() : 0;
  const t1 = now();
  lastDiskEnd = t1;
  for (const r of recs) if (r) r.syncEnd = t1;
  syncs.push({ n: recs.length, ms: t1 - t0, bytesDue, sinceLast, idle, queuedMeanwhile: this.queue.length, h0, h1 });
};

const gcAppend = GroupCommitFile.prototype.append;
GroupCommitFile.prototype.append = function (pieces) {
  const r = recOf(pieces);
  if (r) r.append = r.queued = now();
  return gcAppend.call(this, pieces);
};
const gcWrite = GroupCommitFile.prototype.write;
GroupCommitFile.prototype.write = async function (batch) {
  const recs = batch.map((a) => recOf(a.pieces));
  const h0 = raw ? hr() : 0;
  const t0 = now();
  for (const r of recs) if (r) r.writeStart = t0;
  const p = gcWrite.call(this, batch);
  const submitted = now();
  const hSub = raw ? hr() : 0;
  await p;
  const t1 = now();
  for (const r of recs) if (r) r.writeEnd = t1;
  writes.push({ n: batch.length, ms: t1 - t0, copyMs: submitted - t0, idle: NaN, h0, hSub, h1: raw ? hr() : 0 });
};

function stat(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
  return { n: v.length, mean: +(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3), p50: +q(0.5).toFixed(3), p90: +q(0.9).toFixed(3) };
}

process.on('exit', () => {
  const rs = done.slice(Math.floor(done.length / 5)); // leave the warm-up out
  const step = (a, b) => stat(rs.map((r) => r[b] - r[a]));
  writeFileSync(
    out,
    JSON.stringify(
      {
        process: process.argv.slice(1).join(' '),
        requests: rs.length,
        'headers -> first body byte': step('start', 'first'),
        'first -> last body byte': step('first', 'last'),
        'last byte -> end event': step('last', 'end'),
        'end -> WAL append (validation, pipeline)': step('end', 'append'),
        'append -> queued (room check, CRC)': step('append', 'queued'),
        'queued -> write start (queue wait)': step('queued', 'writeStart'),
        write: step('writeStart', 'writeEnd'),
        'write end -> sync start (window wait)': step('writeEnd', 'syncStart'),
        sync: step('syncStart', 'syncEnd'),
        'sync end -> reply finished': step('syncEnd', 'finish'),
        'write end -> reply finished (sync, reply)': step('writeEnd', 'finish'),
        'last byte -> reply finished': step('last', 'finish'),
        'headers -> reply finished': step('start', 'finish'),
        writes: {
          count: writes.length,
          records: stat(writes.map((w) => w.n)),
          ms: stat(writes.map((w) => w.ms)),
          'copy + submit ms': stat(writes.map((w) => w.copyMs)),
          'disk idle before ms': stat(writes.map((w) => w.idle)),
          syncDueBefore: writes.filter((w) => w.syncDueBefore).length,
        },
        syncs: {
          count: syncs.length,
          records: stat(syncs.map((s) => s.n)),
          ms: stat(syncs.map((s) => s.ms)),
          'disk idle before ms': stat(syncs.map((s) => s.idle)),
          byBytes: syncs.filter((s) => s.bytesDue).length,
          sinceLastStart: stat(syncs.map((s) => s.sinceLast)),
          queuedMeanwhile: stat(syncs.map((s) => s.queuedMeanwhile)),
        },
        ...(raw
          ? { rawWrites: writes.map(({ n, bytes, h0, hSub, h1 }) => ({ n, bytes, h0, hSub, h1 })), rawSyncs: syncs.map(({ n, h0, h1 }) => ({ n, h0, h1 })) }
          : {}),
      },
      null,
      1,
    ),
  );
});
