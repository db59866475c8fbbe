// Child process for wal.crash.test.ts: appends under load until killed, printing "r <id> <seq>" for each
// append that resolved, "a <seq>" before acknowledging a record (acked records may then be deleted), and
// "v <n>" for n records read back and checked, "bad <seq> <id>" for one with other bytes than were appended.
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

// Segments several write groups long (a group of the 64 writers' appends is ~100 KB), so that writes
// continue a segment's partial last block (what O_DIRECT rewrites) as well as start new ones.
const wal = await WriteAheadLog.open({ dir, fsync, segmentSizeBytes: 512 * 1024, fsyncIntervalMs: 2, checkpointIntervalMs: 5, directIo: io === 'direct' });
// The test checks the mode: O_DIRECT only where asked for and the file system takes it.
process.stdout.write(`mode ${wal.directIo ? 'direct' : 'buffered'}\n`);
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
    // What the reader sees of the active segment while 64 writers append to it (with O_DIRECT: direct
    // writes beside buffered reads) must be the bytes appended.
    for (const r of recs) {
      const id = r.meta.readUInt32BE(0);
      if (!r.data.equals(payload(id))) out += `bad ${r.sequence} ${id}\n`;
    }
    out += `v ${recs.length}\n`;
    // Bytes the CRC refused are skipped by the reader, not returned: count them as misread too.
    const skipped = wal.stats().corruptRecordsSkipped;
    if (skipped > 0) out += `bad skipped ${skipped}\n`;
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
