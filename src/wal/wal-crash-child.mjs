// Child process for wal.crash.test.ts: appends under load until killed, printing "r <id> <seq>" for each
// append that resolved and "a <seq>" before acknowledging a record (acked records may then be deleted).
// The payload of record <id> is a pure function of id (the test recomputes it to check integrity).
// Usage: node wal-crash-child.mjs <wal module url> <dir> <fsync policy> [direct|buffered]
const [modUrl, dir, fsync, io = 'direct'] = process.argv.slice(2);
const { WriteAheadLog } = await import(modUrl);

function payload(id) {
  const size = 16 + ((id * 7919) % 3000);
  const b = Buffer.alloc(size);
  b.writeUInt32BE(id, 0);
  for (let i = 4; i < size; i++) b[i] = (id + i * 13) & 0xff;
  return b;
}

const wal = await WriteAheadLog.open({ dir, fsync, segmentSizeBytes: 64 * 1024, fsyncIntervalMs: 2, checkpointIntervalMs: 5, directIo: io === 'direct' });
if (wal.directIo !== (io === 'direct')) throw new Error(`crash child asked for ${io} I/O and got the other`);
let nextId = Number(process.env.FIRST_ID ?? '1');
let out = '';
const flushOut = () => {
  if (out) process.stdout.write(out);
  out = '';
};

async function writer() {
  for (;;) {
    const id = nextId++;
    const seq = await wal.append(payload(id), id);
    out += `r ${id} ${seq}\n`;
    if (out.length > 4096) flushOut();
  }
}

async function reader() {
  // Keeps ~1000 delivered records unacknowledged and acks older ones in reverse order: segments get
  // deleted while the writers run, and many records are unacknowledged when the kill comes.
  const held = [];
  for (;;) {
    const recs = await wal.next(64);
    held.push(...recs);
    if (held.length <= 1000) continue;
    const picks = held.splice(0, held.length - 1000).reverse();
    for (const r of picks) out += `a ${r.sequence}\n`;
    flushOut();
    for (const r of picks) wal.ack(r.sequence);
  }
}

setInterval(flushOut, 1);
process.stdout.write('ready\n');
for (let i = 0; i < 64; i++) void writer();
void reader();
