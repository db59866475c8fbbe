/**
 * AttrList: one message's repeated KeyValue field (attributes), read lazily and edited in place, and the
 * collector's attribute `hash` of one entry. The API is described in wire-edit.ts.
 */
import * as nodeCrypto from 'node:crypto';
import {
  HI,
  LO,
  NEXT,
  WireFormatError,
  asBuffer,
  copyBytes,
  lenTag,
  readVarint,
  readVarint64,
  skipField,
  varintSize,
  writeInt64Varint,
  writeVarint,
  type Range,
} from '../pdata/wire-primitives.js';
import { VE, VS, anyValueAsString, int64At, kvSize, parseAnyValue, writeKv } from './any-value.js';
import { ValueType } from './otlp-fields.js';

const ST_ORIGINAL = 0; // bytes as received
const ST_REPLACED = 1; // value replaced, key kept
const ST_REMOVED = 2;
const ST_APPENDED = 3;

/**
 * A message's repeated KeyValue field, read lazily and edited in place. Reuse one per processor: the
 * entry tables and scratch buffers are kept across records.
 */
export class AttrList {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  private field = 0;
  /** Number of entries, removed ones included (iterate 0..length and skip `removed(i)`). */
  length = 0;
  /** True once an edit was made since load(). */
  changed = false;
  // Per entry.
  // Typed tables, grown on demand: no per-record allocation while reading.
  private cap = 32;
  private st = new Int32Array(this.cap);
  private kvStart = new Int32Array(this.cap); // field start (tag) of the original KeyValue
  private kvEnd = new Int32Array(this.cap);
  private keyBuf: Uint8Array[] = [];
  private keyS = new Int32Array(this.cap);
  private keyE = new Int32Array(this.cap);
  private valBuf: Uint8Array[] = []; // AnyValue content lives here
  private valS = new Int32Array(this.cap);
  private valE = new Int32Array(this.cap);
  private vType = new Int32Array(this.cap); // -1 = not parsed yet
  private vDataS = new Int32Array(this.cap);
  private vDataE = new Int32Array(this.cap);

  private grow(): void {
    const cap = this.cap * 2;
    const g = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.st = g(this.st);
    this.kvStart = g(this.kvStart);
    this.kvEnd = g(this.kvEnd);
    this.keyS = g(this.keyS);
    this.keyE = g(this.keyE);
    this.valS = g(this.valS);
    this.valE = g(this.valE);
    this.vType = g(this.vType);
    this.vDataS = g(this.vDataS);
    this.vDataE = g(this.vDataE);
    this.cap = cap;
  }
  private arena: Buffer = Buffer.allocUnsafe(4096);
  private arenaLen = 0;
  private out: Buffer = Buffer.allocUnsafe(4096);
  private readonly tmp: Range = { start: 0, end: 0 };

  /** Reads the KeyValue entries of field `field` in message buf[start:end]. */
  load(buf: Uint8Array, start: number, end: number, field: number): this {
    const b = asBuffer(buf);
    this.buf = b;
    this.start = start;
    this.end = end;
    this.field = field;
    this.changed = false;
    this.arenaLen = 0;
    let n = 0;
    const want = lenTag(field);
    let pos = start;
    while (pos < end) {
      const fieldStart = pos;
      const tag = readVarint(b, pos, end);
      pos = NEXT;
      if (tag === want) {
        const len = readVarint(b, pos, end);
        const s = NEXT;
        const e = s + len;
        if (e > end) throw new WireFormatError('KeyValue overruns its message');
        // KeyValue: key=1, value=2 (last occurrence wins).
        let ks = s;
        let ke = s;
        let vs = s;
        let ve = s;
        let p = s;
        while (p < e) {
          const t = readVarint(b, p, e);
          p = NEXT;
          if (t === 0x0a || t === 0x12) {
            const l = readVarint(b, p, e);
            const cs = NEXT;
            if (cs + l > e) throw new WireFormatError('KeyValue field overruns its KeyValue');
            if (t === 0x0a) {
              ks = cs;
              ke = cs + l;
            } else {
              vs = cs;
              ve = cs + l;
            }
            p = cs + l;
          } else p = skipField(b, p, e, t);
        }
        if (n === this.cap) this.grow();
        this.st[n] = ST_ORIGINAL;
        this.kvStart[n] = fieldStart;
        this.kvEnd[n] = e;
        this.keyBuf[n] = b;
        this.keyS[n] = ks;
        this.keyE[n] = ke;
        this.valBuf[n] = b;
        this.valS[n] = vs;
        this.valE[n] = ve;
        this.vType[n] = -1;
        n++;
        pos = e;
      } else pos = skipField(b, pos, end, tag);
    }
    this.length = n;
    return this;
  }

  /** Index of the first live entry whose key equals `key` (UTF-8 bytes), or -1. */
  indexOf(key: Uint8Array): number {
    const kl = key.length;
    for (let i = 0; i < this.length; i++) {
      if (this.st[i] === ST_REMOVED) continue;
      const s = this.keyS[i]!;
      if (this.keyE[i]! - s !== kl) continue;
      const kb = this.keyBuf[i]!;
      let j = 0;
      while (j < kl && kb[s + j] === key[j]) j++;
      if (j === kl) return i;
    }
    return -1;
  }

  removed(i: number): boolean {
    return this.st[i] === ST_REMOVED;
  }

  key(i: number): string {
    return asBuffer(this.keyBuf[i]!).toString('utf8', this.keyS[i], this.keyE[i]);
  }

  /** Whether entry i's key matches `re` (decodes the key; used by pattern-based actions). */
  keyMatches(i: number, re: RegExp): boolean {
    re.lastIndex = 0;
    return re.test(this.key(i));
  }

  private parse(i: number): number {
    let t = this.vType[i]!;
    if (t < 0) {
      t = parseAnyValue(this.valBuf[i]!, this.valS[i]!, this.valE[i]!);
      this.vType[i] = t;
      this.vDataS[i] = VS;
      this.vDataE[i] = VE;
    }
    return t;
  }

  type(i: number): ValueType {
    return this.parse(i) as ValueType;
  }

  str(i: number): string {
    this.parse(i);
    return asBuffer(this.valBuf[i]!).toString('utf8', this.vDataS[i], this.vDataE[i]);
  }

  /** The raw bytes of a string or bytes value (a view, no copy). */
  rawBytes(i: number): Uint8Array {
    this.parse(i);
    const b = this.valBuf[i]!;
    const s = this.vDataS[i]!;
    // A plain Uint8Array view: cheaper than Buffer#subarray, which builds a FastBuffer.
    return new Uint8Array(b.buffer, b.byteOffset + s, this.vDataE[i]! - s);
  }

  bool(i: number): boolean {
    this.parse(i);
    return this.valBuf[i]![this.vDataS[i]!] !== 0;
  }

  int(i: number): bigint {
    this.parse(i);
    return int64At(this.valBuf[i]!, this.vDataS[i]!, this.vDataE[i]!);
  }

  double(i: number): number {
    this.parse(i);
    return asBuffer(this.valBuf[i]!).readDoubleLE(this.vDataS[i]!);
  }

  /** pcommon Value.AsString of entry i. */
  asString(i: number): string {
    return anyValueAsString(this.valBuf[i]!, this.valS[i]!, this.valE[i]!);
  }

  /** The AnyValue content of entry i (a view; valid until the next load()). */
  value(i: number): Uint8Array {
    return this.valBuf[i]!.subarray(this.valS[i], this.valE[i]);
  }

  /** Writes the bytes that pcommon's hasher feeds SHA-256 for entry i into `into`; returns their count. */
  hashInput(i: number, into: Buffer): number {
    const t = this.parse(i);
    const b = this.valBuf[i]!;
    switch (t) {
      case ValueType.String:
        return -1; // caller hashes rawBytes(i)
      case ValueType.Bool:
        into[0] = b[this.vDataS[i]!] !== 0 ? 1 : 0;
        return 1;
      case ValueType.Int:
        readVarint64(b, this.vDataS[i]!, this.vDataE[i]!);
        into.writeUInt32LE(LO, 0);
        into.writeUInt32LE(HI, 4);
        return 8;
      case ValueType.Double:
        // The wire holds the IEEE bits little-endian, which is what pcommon hashes.
        into.set(b.subarray(this.vDataS[i], this.vDataS[i]! + 8), 0);
        return 8;
      default:
        return 0;
    }
  }

  // --- edits

  /** Replaces entry i's value with AnyValue content `content` (kept by reference: do not mutate it). */
  set(i: number, content: Uint8Array): void {
    if (this.st[i] === ST_ORIGINAL) this.st[i] = ST_REPLACED;
    this.valBuf[i] = content;
    this.valS[i] = 0;
    this.valE[i] = content.length;
    this.vType[i] = -1;
    this.changed = true;
  }

  /** Copies entry j's value into entry i (from_attribute). */
  copyValue(i: number, j: number): void {
    const b = this.valBuf[j]!;
    const s = this.valS[j]!;
    const e = this.valE[j]!;
    if (this.st[i] === ST_ORIGINAL) this.st[i] = ST_REPLACED;
    this.valBuf[i] = b;
    this.valS[i] = s;
    this.valE[i] = e;
    this.vType[i] = -1;
    this.changed = true;
  }

  /** Reserves n bytes of scratch that lives until the next load(); returns [buffer, offset]. */
  private reserve(n: number): Buffer {
    if (this.arenaLen + n > this.arena.length) {
      // Entries keep references into the old arena, so a fresh one is started rather than resized.
      this.arena = Buffer.allocUnsafe(Math.max(4096, n * 2, this.arena.length));
      this.arenaLen = 0;
    }
    return this.arena;
  }

  private setScratch(i: number, arena: Buffer, s: number, e: number): void {
    if (this.st[i] === ST_ORIGINAL) this.st[i] = ST_REPLACED;
    this.valBuf[i] = arena;
    this.valS[i] = s;
    this.valE[i] = e;
    this.vType[i] = -1;
    this.changed = true;
  }

  /** Sets entry i to a string value. */
  setString(i: number, s: string): void {
    const max = Buffer.byteLength(s, 'utf8');
    const a = this.reserve(max + 6);
    const start = this.arenaLen;
    a[start] = 0x0a;
    let p = writeVarint(a, start + 1, max);
    p += a.write(s, p, 'utf8');
    this.arenaLen = p;
    this.setScratch(i, a, start, p);
  }

  /** Sets entry i to a string value given as latin1/ASCII text (e.g. hex digests): no UTF-8 scan. */
  setAscii(i: number, s: string): void {
    const a = this.reserve(s.length + 6);
    const start = this.arenaLen;
    a[start] = 0x0a;
    let p = writeVarint(a, start + 1, s.length);
    p += a.write(s, p, 'latin1');
    this.arenaLen = p;
    this.setScratch(i, a, start, p);
  }

  setInt(i: number, v: bigint): void {
    const a = this.reserve(11);
    const start = this.arenaLen;
    a[start] = 3 << 3;
    const p = writeInt64Varint(a, start + 1, v);
    this.arenaLen = p;
    this.setScratch(i, a, start, p);
  }

  setDouble(i: number, d: number): void {
    const a = this.reserve(9);
    const start = this.arenaLen;
    a[start] = (4 << 3) | 1;
    a.writeDoubleLE(d, start + 1);
    this.arenaLen = start + 9;
    this.setScratch(i, a, start, start + 9);
  }

  remove(i: number): void {
    this.st[i] = ST_REMOVED;
    this.changed = true;
  }

  /** Appends a new entry; returns its index. `content` is AnyValue content, kept by reference. */
  append(key: Uint8Array, content: Uint8Array): number {
    if (this.length === this.cap) this.grow();
    const n = this.length++;
    this.st[n] = ST_APPENDED;
    this.kvStart[n] = this.kvEnd[n] = -1;
    this.keyBuf[n] = key;
    this.keyS[n] = 0;
    this.keyE[n] = key.length;
    this.valBuf[n] = content;
    this.valS[n] = 0;
    this.valE[n] = content.length;
    this.vType[n] = -1;
    this.changed = true;
    return n;
  }

  /** Appends an entry with a string value. */
  appendString(key: Uint8Array, s: string): number {
    const i = this.append(key, EMPTY);
    this.setString(i, s);
    return i;
  }

  /**
   * The message's new content with the edits applied, or undefined when nothing changed. The result is a
   * view of a scratch buffer reused by the next build(): hand it to the walker (which copies) or copy it.
   */
  build(): Uint8Array | undefined {
    const size = this.builtSize();
    if (size < 0) return undefined;
    if (this.out.length < size) this.out = Buffer.allocUnsafe(Math.max(size, this.out.length * 2));
    this.writeBuilt(this.out, 0, size);
    return this.out.subarray(0, size);
  }

  /** Size of the edited content, or -1 when nothing changed (no edit, or edits that cancel out). */
  builtSize(): number {
    if (!this.changed) return -1;
    // Edits that cancel out (an insert then a delete of the same key) leave the message as it was.
    let net = false;
    for (let i = 0; i < this.length && !net; i++) {
      const st = this.st[i];
      net = st === ST_REPLACED || st === ST_APPENDED || (st === ST_REMOVED && this.kvStart[i]! >= 0);
    }
    if (!net) return -1;
    let size = this.end - this.start;
    const n = this.length;
    for (let i = 0; i < n; i++) {
      const st = this.st[i];
      if (st === ST_ORIGINAL) continue;
      const inner = kvSize(this.keyE[i]! - this.keyS[i]!, this.valE[i]! - this.valS[i]!);
      const framed = 1 + varintSize(inner) + inner;
      if (st === ST_REMOVED) {
        if (this.kvStart[i]! >= 0) size -= this.kvEnd[i]! - this.kvStart[i]!;
      } else if (st === ST_REPLACED) size += framed - (this.kvEnd[i]! - this.kvStart[i]!);
      else size += framed;
    }
    return size;
  }

  /** Writes the edited content (builtSize() bytes, passed as `size`) into out at p; returns the end. */
  writeBuilt(out: Buffer, p: number, size: number): number {
    const start = p;
    const n = this.length;
    const src = this.buf;
    const tag = lenTag(this.field);
    let s = this.start;
    for (let i = 0; i < n; i++) {
      const st = this.st[i];
      if (st === ST_ORIGINAL) continue;
      if (st === ST_APPENDED) continue;
      const ks = this.kvStart[i]!;
      if (ks < 0) continue; // appended then removed
      p = copyBytes(src, s, ks, out, p);
      s = this.kvEnd[i]!;
      if (st === ST_REPLACED) p = this.writeEntry(out, p, tag, i);
    }
    p = copyBytes(src, s, this.end, out, p);
    for (let i = 0; i < n; i++) if (this.st[i] === ST_APPENDED) p = this.writeEntry(out, p, tag, i);
    if (p - start !== size) throw new Error(`AttrList.build wrote ${p - start} bytes, expected ${size}`);
    return p;
  }

  private writeEntry(out: Buffer, p: number, tag: number, i: number): number {
    const ks = this.keyS[i]!;
    const ke = this.keyE[i]!;
    const vs = this.valS[i]!;
    const ve = this.valE[i]!;
    p = writeVarint(out, p, tag);
    p = writeVarint(out, p, kvSize(ke - ks, ve - vs));
    return writeKv(out, p, this.keyBuf[i]!, ks, ke, this.valBuf[i]!, vs, ve);
  }
}

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------------
// Hashing (the collector's attributes `hash` action)

const HASH_SCRATCH = Buffer.allocUnsafe(8);
// crypto.hash (Node >= 20.12) is a one-shot digest, several times cheaper than createHash per value.
const hashFn = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;

/** SHA-256 hex of data (one-shot crypto.hash where Node has it). */
export function sha256Hex(data: Uint8Array): string {
  if (hashFn) return hashFn('sha256', data, 'hex');
  return nodeCrypto.createHash('sha256').update(data).digest('hex');
}

/**
 * Replaces entry i's value by the SHA-256 hex of its value, as the collector's sha2Hasher: strings hash
 * their UTF-8 bytes, bools one byte, ints and doubles their 8 little-endian bytes; any other kind and
 * the empty string become "".
 */
export function hashEntry(attrs: AttrList, i: number): void {
  const n = attrs.hashInput(i, HASH_SCRATCH);
  if (n < 0) {
    const raw = attrs.rawBytes(i);
    attrs.setAscii(i, raw.length > 0 ? sha256Hex(raw) : '');
  } else attrs.setAscii(i, n > 0 ? sha256Hex(HASH_SCRATCH.subarray(0, n)) : '');
}
