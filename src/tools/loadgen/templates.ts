/**
 * Request templates for the load generator. A template is one fully encoded Export request of n records
 * (protobuf or OTLP/JSON) plus the byte offsets of everything that changes from one request to the next:
 * the sequence numbers, timestamps and trace/span ids. The next request is made by patching those bytes in
 * place, so the per-request cost is a few small writes per record and no per-record object.
 *
 * Protobuf varints change width with their value, so a protobuf template is patchable only while every
 * sequence number in the batch keeps the width it was built with; the few batches that cross a width
 * boundary (at 2^7, 2^14, 2^21, ...) rebuild their template. OTLP/JSON pads its fields with insignificant
 * whitespace to a fixed width instead, so a JSON template never needs a rebuild.
 */
import { randomBytes } from 'node:crypto';
import type { Signal } from '../../core/signal.js';
import { varintSize, writeVarint } from '../../pdata/wire-primitives.js';
import { RUN_KEY, SEQ_KEY } from './common.js';

export type Encoding = 'proto' | 'json';

export interface TemplateOptions {
  signal: Signal;
  encoding: Encoding;
  runId: string;
  /** Characters of each log record's body (logs only). */
  bodySize: number;
  /** Extra string attributes per record besides the sequence attribute. */
  attributes: number;
  serviceName?: string;
}

// Kinds of patch points, recorded while encoding.
const K_SEQ = 0;
const K_TIME = 1;
const K_TRACE = 2;
const K_SPAN = 3;
const K_VALUE = 4;

/** JSON sequence slot: right-aligned `"123"` padded with spaces, wide enough for any int64 in decimal. */
const JSON_SEQ_WIDTH = 22;
/** JSON timestamps are 19 decimal digits (nanoseconds since 1970 until the year 2286). */
const JSON_TIME_WIDTH = 19;

const BODY_POOL = 16;

/** A varint's encoding of n (template building, once per template). */
function varintBytes(n: number): Buffer {
  const out = Buffer.allocUnsafe(varintSize(n));
  writeVarint(out, 0, n);
  return out;
}

/** A protobuf message under construction: parts are referenced, copied once by toBuffer(). */
class PB {
  parts: Uint8Array[] = [];
  len = 0;
  marks: number[] = []; // pairs: kind, offset

  raw(b: Uint8Array): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }
  private tag(field: number, wt: number): void {
    this.raw(varintBytes(field * 8 + wt));
  }
  private mark(kind: number): void {
    this.marks.push(kind, this.len);
  }
  string(field: number, s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.tag(field, 2);
    this.raw(varintBytes(b.length));
    return this.raw(b);
  }
  bytes(field: number, b: Uint8Array, kind?: number): this {
    this.tag(field, 2);
    this.raw(varintBytes(b.length));
    if (kind !== undefined) this.mark(kind);
    return this.raw(b);
  }
  varint(field: number, v: number, kind?: number): this {
    this.tag(field, 0);
    if (kind !== undefined) this.mark(kind);
    return this.raw(varintBytes(v));
  }
  fixed64(field: number, kind: number): this {
    this.tag(field, 1);
    this.mark(kind);
    return this.raw(Buffer.alloc(8));
  }
  msg(field: number, child: PB): this {
    this.tag(field, 2);
    this.raw(varintBytes(child.len));
    const base = this.len;
    for (let i = 0; i < child.marks.length; i += 2) this.marks.push(child.marks[i]!, base + child.marks[i + 1]!);
    for (const p of child.parts) this.parts.push(p);
    this.len += child.len;
    return this;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.len);
  }
}

/** An OTLP/JSON text under construction (ASCII only, so character offsets are byte offsets). */
class JS {
  parts: string[] = [];
  len = 0;
  marks: number[] = [];
  s(text: string): this {
    this.parts.push(text);
    this.len += text.length;
    return this;
  }
  mark(kind: number, placeholder: string): this {
    this.marks.push(kind, this.len);
    return this.s(placeholder);
  }
}

function asciiOnly(what: string, v: string): string {
  if (!/^[\x20-\x7e]*$/.test(v) || /["\\]/.test(v)) throw new Error(`${what} must be printable ASCII without quotes or backslashes, got ${JSON.stringify(v)}`);
  return v;
}

const BODY_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';

function makeBody(size: number): string {
  const rnd = randomBytes(size);
  let s = '';
  for (let i = 0; i < size; i++) s += BODY_ALPHABET[rnd[i]! % BODY_ALPHABET.length];
  return s;
}

/** Static pieces shared by every template of one run (built once per run). */
export class TemplateParts {
  readonly bodies: string[];
  readonly runHash: Buffer; // 8 bytes, the high half of every trace id
  readonly extraAttrsProto: Buffer; // encoded KeyValue fields, field number per signal
  readonly extraAttrsJson: string; // ',{"key":..}' * attributes
  readonly bodiesProto: Buffer[];
  constructor(readonly opts: TemplateOptions) {
    asciiOnly('run id', opts.runId);
    asciiOnly('service name', opts.serviceName ?? '');
    this.bodies = [];
    if (opts.signal === 'logs') for (let i = 0; i < BODY_POOL; i++) this.bodies.push(makeBody(opts.bodySize));
    this.bodiesProto = this.bodies.map((b) => new PB().string(1, b).toBuffer());
    this.runHash = randomBytes(8);
    const attrField = ATTR_FIELD[opts.signal];
    const pb = new PB();
    let js = '';
    for (let k = 0; k < opts.attributes; k++) {
      const key = `loadgen.attr.${k}`;
      const val = `value-${k}-${(k * 7919) % 1000}`;
      pb.msg(attrField, new PB().string(1, key).msg(2, new PB().string(1, val)));
      js += `,{"key":"${key}","value":{"stringValue":"${val}"}}`;
    }
    this.extraAttrsProto = pb.toBuffer();
    this.extraAttrsJson = js;
  }
}

/** Attribute field of the record message: LogRecord=6, Span=9, NumberDataPoint=7. */
const ATTR_FIELD: Record<Signal, number> = { logs: 6, traces: 9, metrics: 7 };

export class RequestTemplate {
  readonly buf: Buffer;
  readonly seqOffs: Int32Array;
  readonly timeOffs: Int32Array;
  readonly traceOffs: Int32Array;
  readonly spanOffs: Int32Array;
  readonly valueOffs: Int32Array;
  /** Varint width of every sequence number (protobuf), 0 when they differ. */
  readonly seqWidth: number;
  seqStart: number;

  constructor(
    private readonly parts: TemplateParts,
    seqStart: number,
    readonly n: number,
  ) {
    const { opts } = parts;
    this.seqStart = seqStart;
    let marks: number[];
    if (opts.encoding === 'proto') {
      const req = buildProto(parts, seqStart, n);
      this.buf = req.toBuffer();
      marks = req.marks;
      const w0 = varintSize(seqStart);
      this.seqWidth = w0 === varintSize(seqStart + n - 1) ? w0 : 0;
    } else {
      const req = buildJson(parts, n);
      this.buf = Buffer.from(req.parts.join(''), 'latin1');
      marks = req.marks;
      this.seqWidth = JSON_SEQ_WIDTH;
    }
    const byKind: number[][] = [[], [], [], [], []];
    for (let i = 0; i < marks.length; i += 2) byKind[marks[i]!]!.push(marks[i + 1]!);
    this.seqOffs = Int32Array.from(byKind[K_SEQ]!);
    this.timeOffs = Int32Array.from(byKind[K_TIME]!);
    this.traceOffs = Int32Array.from(byKind[K_TRACE]!);
    this.spanOffs = Int32Array.from(byKind[K_SPAN]!);
    this.valueOffs = Int32Array.from(byKind[K_VALUE]!);
    if (opts.encoding === 'json') {
      // The JSON trace id's high half is constant per run: write it once.
      const hex = parts.runHash.toString('hex');
      for (let i = 0; i < this.traceOffs.length; i++) this.buf.write(hex, this.traceOffs[i]!, 'latin1');
    } else {
      for (let i = 0; i < this.traceOffs.length; i++) parts.runHash.copy(this.buf, this.traceOffs[i]!);
    }
    this.writeSeqs(seqStart);
  }

  /** True when the template can carry seqStart..seqStart+n-1 by patching. */
  canPatch(seqStart: number, n: number): boolean {
    if (n !== this.n) return false;
    if (this.parts.opts.encoding === 'json') return true;
    return this.seqWidth !== 0 && varintSize(seqStart) === this.seqWidth && varintSize(seqStart + n - 1) === this.seqWidth;
  }

  /** Rewrites the sequence numbers (and what derives from them) for a batch starting at seqStart. */
  writeSeqs(seqStart: number): void {
    this.seqStart = seqStart;
    const buf = this.buf;
    const json = this.parts.opts.encoding === 'json';
    const { seqOffs, traceOffs, spanOffs, valueOffs } = this;
    for (let i = 0; i < seqOffs.length; i++) {
      const seq = seqStart + i;
      if (json) writeJsonInt(buf, seqOffs[i]!, seq);
      else writeVarint(buf, seqOffs[i]!, seq);
    }
    for (let i = 0; i < traceOffs.length; i++) {
      const seq = seqStart + i;
      if (json) {
        writeHex64(buf, traceOffs[i]! + 16, seq);
        writeHex64(buf, spanOffs[i]!, seq + 1); // an all-zero span id is invalid
      } else {
        writeU64BE(buf, traceOffs[i]! + 8, seq);
        writeU64BE(buf, spanOffs[i]!, seq + 1);
      }
    }
    for (let i = 0; i < valueOffs.length; i++) {
      if (json) writeJsonInt(buf, valueOffs[i]!, seqStart + i);
      else writeU64LE(buf, valueOffs[i]!, seqStart + i);
    }
  }

  /** Stamps every timestamp of the request with `nowMs` (one value per request keeps it cheap). */
  writeTime(nowMs: number): void {
    const buf = this.buf;
    const offs = this.timeOffs;
    if (this.parts.opts.encoding === 'json') {
      const digits = Buffer.from((BigInt(Math.floor(nowMs)) * 1_000_000n).toString().padStart(JSON_TIME_WIDTH, '0'), 'latin1');
      for (let i = 0; i < offs.length; i++) digits.copy(buf, offs[i]!);
    } else {
      const ns = BigInt(Math.floor(nowMs)) * 1_000_000n;
      const lo = Number(ns & 0xffffffffn);
      const hi = Number(ns >> 32n);
      for (let i = 0; i < offs.length; i++) {
        buf.writeUInt32LE(lo, offs[i]!);
        buf.writeUInt32LE(hi, offs[i]! + 4);
      }
    }
  }
}

/**
 * One template per in-flight request: its buffer is patched for the next batch only after the previous
 * request was answered, so a request on the wire never sees its bytes change.
 */
export class TemplateSlot {
  private tpl: RequestTemplate | undefined;
  /** How many times the slot had to build a template (for tests: patching should dominate). */
  builds = 0;
  constructor(private readonly parts: TemplateParts) {}

  prepare(seqStart: number, n: number, nowMs: number): Buffer {
    let tpl = this.tpl;
    if (tpl && tpl.canPatch(seqStart, n)) {
      if (tpl.seqStart !== seqStart) tpl.writeSeqs(seqStart);
    } else {
      tpl = this.tpl = new RequestTemplate(this.parts, seqStart, n);
      this.builds++;
    }
    tpl.writeTime(nowMs);
    return tpl.buf;
  }
}

// ---- patch writers (no allocation)

function writeU64BE(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32BE(Math.floor(v / 4294967296), off);
  buf.writeUInt32BE(v >>> 0, off + 4);
}

function writeU64LE(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v >>> 0, off);
  buf.writeUInt32LE(Math.floor(v / 4294967296), off + 4);
}

const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

function writeHex64(buf: Buffer, off: number, v: number): void {
  let lo = v >>> 0;
  let hi = Math.floor(v / 4294967296);
  for (let i = 15; i >= 8; i--) {
    buf[off + i] = HEX[lo & 15]!;
    lo >>>= 4;
  }
  for (let i = 7; i >= 0; i--) {
    buf[off + i] = HEX[hi & 15]!;
    hi >>>= 4;
  }
}

/** Writes `"<v>"` right-aligned in a JSON_SEQ_WIDTH slot, spaces before (insignificant JSON whitespace). */
function writeJsonInt(buf: Buffer, off: number, v: number): void {
  let p = off + JSON_SEQ_WIDTH - 1;
  buf[p--] = 0x22;
  do {
    buf[p--] = 48 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  buf[p--] = 0x22;
  while (p >= off) buf[p--] = 0x20;
}

// ---- builders

function resourceProto(parts: TemplateParts): PB {
  const { opts } = parts;
  const res = new PB();
  res.msg(1, new PB().string(1, RUN_KEY).msg(2, new PB().string(1, opts.runId)));
  res.msg(1, new PB().string(1, 'service.name').msg(2, new PB().string(1, opts.serviceName ?? 'gophership-loadgen')));
  return res;
}

function scopeProto(): PB {
  return new PB().string(1, 'gophership.loadgen').string(2, '0.1.0');
}

/** KeyValue{key: gophership.seq, value: AnyValue{int_value=3}}; the int's bytes are rewritten by writeSeqs. */
function seqAttrProto(seq: number): PB {
  return new PB().string(1, SEQ_KEY).msg(2, new PB().varint(3, seq, K_SEQ));
}

function buildProto(parts: TemplateParts, seqStart: number, n: number): PB {
  const { opts } = parts;
  const attrField = ATTR_FIELD[opts.signal];
  const scopeMsg = new PB().msg(1, scopeProto());
  if (opts.signal === 'logs') {
    for (let i = 0; i < n; i++) {
      const r = new PB()
        .fixed64(1, K_TIME)
        .varint(2, 9)
        .string(3, 'INFO')
        .bytes(5, parts.bodiesProto[i % BODY_POOL]!)
        .msg(attrField, seqAttrProto(seqStart + i))
        .raw(parts.extraAttrsProto)
        .fixed64(11, K_TIME);
      scopeMsg.msg(2, r);
    }
  } else if (opts.signal === 'traces') {
    for (let i = 0; i < n; i++) {
      const s = new PB()
        .bytes(1, Buffer.alloc(16), K_TRACE)
        .bytes(2, Buffer.alloc(8), K_SPAN)
        .string(5, 'loadgen-span')
        .varint(6, 2)
        .fixed64(7, K_TIME)
        .fixed64(8, K_TIME)
        .msg(attrField, seqAttrProto(seqStart + i))
        .raw(parts.extraAttrsProto);
      scopeMsg.msg(2, s);
    }
  } else {
    const gauge = new PB();
    for (let i = 0; i < n; i++) {
      const dp = new PB()
        .msg(attrField, seqAttrProto(seqStart + i))
        .raw(parts.extraAttrsProto)
        .fixed64(3, K_TIME)
        .fixed64(6, K_VALUE); // as_int (sfixed64) = the sequence number
      gauge.msg(1, dp);
    }
    const metric = new PB().string(1, 'gophership.loadgen.value').string(3, '1').msg(5, gauge);
    scopeMsg.msg(2, metric);
  }
  const resourceX = new PB().msg(1, resourceProto(parts)).msg(2, scopeMsg);
  return new PB().msg(1, resourceX);
}

const JSON_KEYS: Record<Signal, [string, string, string]> = {
  logs: ['resourceLogs', 'scopeLogs', 'logRecords'],
  traces: ['resourceSpans', 'scopeSpans', 'spans'],
  metrics: ['resourceMetrics', 'scopeMetrics', 'metrics'],
};

function buildJson(parts: TemplateParts, n: number): JS {
  const { opts } = parts;
  const [rk, sk, ik] = JSON_KEYS[opts.signal];
  const timePh = '0'.repeat(JSON_TIME_WIDTH);
  const seqPh = ' '.repeat(JSON_SEQ_WIDTH - 3) + '"0"';
  const j = new JS();
  j.s(`{"${rk}":[{"resource":{"attributes":[`);
  j.s(`{"key":"${RUN_KEY}","value":{"stringValue":"${opts.runId}"}},`);
  j.s(`{"key":"service.name","value":{"stringValue":"${opts.serviceName ?? 'gophership-loadgen'}"}}]},`);
  j.s(`"${sk}":[{"scope":{"name":"gophership.loadgen","version":"0.1.0"},"${ik}":[`);
  const seqAttr = (): void => {
    j.s(`"attributes":[{"key":"${SEQ_KEY}","value":{"intValue":`).mark(K_SEQ, seqPh).s(`}}${parts.extraAttrsJson}]`);
  };
  if (opts.signal === 'logs') {
    for (let i = 0; i < n; i++) {
      if (i) j.s(',');
      j.s('{"timeUnixNano":"').mark(K_TIME, timePh).s('","observedTimeUnixNano":"').mark(K_TIME, timePh);
      j.s(`","severityNumber":9,"severityText":"INFO","body":{"stringValue":"${parts.bodies[i % BODY_POOL]}"},`);
      seqAttr();
      j.s('}');
    }
    j.s(']}]}]}');
  } else if (opts.signal === 'traces') {
    const traceIdPh = '0'.repeat(32);
    const spanIdPh = '0'.repeat(16);
    for (let i = 0; i < n; i++) {
      if (i) j.s(',');
      j.s('{"traceId":"').mark(K_TRACE, traceIdPh).s('","spanId":"').mark(K_SPAN, spanIdPh);
      j.s('","name":"loadgen-span","kind":2,"startTimeUnixNano":"').mark(K_TIME, timePh);
      j.s('","endTimeUnixNano":"').mark(K_TIME, timePh).s('",');
      seqAttr();
      j.s('}');
    }
    j.s(']}]}]}');
  } else {
    j.s('{"name":"gophership.loadgen.value","unit":"1","gauge":{"dataPoints":[');
    for (let i = 0; i < n; i++) {
      if (i) j.s(',');
      j.s('{');
      seqAttr();
      j.s(',"timeUnixNano":"').mark(K_TIME, timePh).s('","asInt":').mark(K_VALUE, seqPh).s('}');
    }
    j.s(']}}]}]}]}');
  }
  return j;
}
