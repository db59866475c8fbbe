/**
 * The writer's queue of accepted appends not yet written: what `append` took after its room check, in
 * order, with each record's payload CRC already taken and the promise callbacks to settle once it is
 * durable. Held as parallel arrays from a head index rather than an object per record: a steady stream of
 * small appends would otherwise allocate one per record.
 */
import { RECORD_OVERHEAD, encodeHead, metaBytes, type Meta } from './format.js';

/** The first records of the queue, taken to be written as one writev. */
export interface TakenBatch {
  /** Each record's head followed by its payload pieces (empty pieces left out). */
  readonly iov: Uint8Array[];
  readonly resolvers: ((seq: number) => void)[];
  readonly rejecters: ((err: Error) => void)[];
}

export class AppendQueue {
  private data: (Uint8Array | readonly Uint8Array[])[] = [];
  private len: number[] = [];
  private meta: (Meta | undefined)[] = [];
  private crc: number[] = [];
  private resolve: ((seq: number) => void)[] = [];
  private reject: ((err: Error) => void)[] = [];
  private head = 0;
  /** Bytes on disk the queued records will take (heads included): they count against the budget already. */
  bytes = 0;

  get length(): number {
    return this.data.length - this.head;
  }

  /** Queues a record of `size` bytes on disk whose payload is `dataLength` bytes with CRC `dataCrc`. */
  push(
    data: Uint8Array | readonly Uint8Array[],
    dataLength: number,
    meta: Meta | undefined,
    dataCrc: number,
    size: number,
    resolve: (seq: number) => void,
    reject: (err: Error) => void,
  ): void {
    this.bytes += size;
    this.data.push(data);
    this.len.push(dataLength);
    this.meta.push(meta);
    this.crc.push(dataCrc);
    this.resolve.push(resolve);
    this.reject.push(reject);
  }

  /** Bytes on disk of the `i`-th queued record (0 = the next one to write). */
  recordSize(i: number): number {
    const at = this.head + i;
    return RECORD_OVERHEAD + metaBytes(this.meta[at]) + this.len[at]!;
  }

  /**
   * Removes the first `n` records (`bytes` on disk in all) and encodes their heads with sequences from
   * `startSeq`, all into one buffer.
   */
  take(n: number, bytes: number, startSeq: number): TakenBatch {
    const h = this.head;
    let headBytes = 0;
    for (let i = 0; i < n; i++) headBytes += RECORD_OVERHEAD + metaBytes(this.meta[h + i]);
    const heads = Buffer.allocUnsafe(headBytes);
    const iov: Uint8Array[] = [];
    let off = 0;
    for (let i = 0; i < n; i++) {
      const data = this.data[h + i]!;
      const end = encodeHead(heads, off, startSeq + i, this.meta[h + i], this.len[h + i]!, this.crc[h + i]!);
      iov.push(heads.subarray(off, end));
      if (data instanceof Uint8Array) {
        if (data.length > 0) iov.push(data);
      } else for (const piece of data) if (piece.length > 0) iov.push(piece);
      off = end;
    }
    const resolvers = this.resolve.slice(h, h + n);
    const rejecters = this.reject.slice(h, h + n);
    this.head += n;
    if (this.head === this.data.length) {
      this.data.length = this.len.length = this.meta.length = this.crc.length = this.resolve.length = this.reject.length = this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.data.length) {
      this.data.splice(0, this.head);
      this.len.splice(0, this.head);
      this.meta.splice(0, this.head);
      this.crc.splice(0, this.head);
      this.resolve.splice(0, this.head);
      this.reject.splice(0, this.head);
      this.head = 0;
    }
    this.bytes -= bytes;
    return { iov, resolvers, rejecters };
  }

  /** Refuses every queued append with `err` and empties the queue. */
  rejectAll(err: Error): void {
    for (let i = this.head; i < this.reject.length; i++) this.reject[i]!(err);
    this.data = [];
    this.len = [];
    this.meta = [];
    this.crc = [];
    this.resolve = [];
    this.reject = [];
    this.head = 0;
    this.bytes = 0;
  }
}
