/** A WAL test record: `size` bytes of `i`'s low byte, `i` in its first four (big-endian), so a read names it. */
export function walRecord(i: number, size = 100): Buffer {
  const b = Buffer.alloc(size, i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}
