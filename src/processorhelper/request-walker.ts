/**
 * RequestWalker: visits an encoded Export request's resources, scopes, metrics and records (views in
 * record-views.ts) and rebuilds only what the visitor changed, as edits spliced into the bytes as received.
 * The API is described in wire-edit.ts.
 */
import type { Signal } from '../core/signal.js';
import { NEXT, WireFormatError, asBuffer, copyBytes, lenTag, readVarint, skipField, varintSize, writeVarint } from '../pdata/wire-primitives.js';
import { countMetricPoints, forEachField } from '../pdata/wire.js';
import type { AttrList } from './attr-list.js';
import { FIELD, METRIC_DATA, RecordKind } from './otlp-fields.js';
import {
  DROP,
  KEEP,
  REPLACED,
  SKIP,
  type MetricView,
  type RecordView,
  type RequestVisitor,
  type ResourceView,
  type ScopeView,
  type VisitResult,
  type WalkOptions,
  type WalkResult,
} from './record-views.js';

const E_REPLACE = 0; // [start,end) -> arena[off, off+len) (framed: tag + varint(len) + content, one or more fields)
const E_LENGTH = 1; // [start,end) -> varint(len)
const E_DROP = 2; // [start,end) -> nothing
const E_NOP = 3; // a container's length slot whose length did not change (start === end)

/**
 * Visits an encoded request and rebuilds only what the visitor changed. One walker per processor
 * instance: it reuses its views and buffers across requests (not reentrant; walk() is synchronous).
 */
export class RequestWalker {
  private buf: Buffer = Buffer.alloc(0);
  private signal: Signal = 'logs';
  private readonly depth: number; // 1 resource, 2 scope, 3 metric, 4 record
  private readonly prune: boolean;
  private items = 0;
  // Edits, in parallel arrays (no object per edit).
  private eKind: number[] = [];
  private eStart: number[] = [];
  private eEnd: number[] = [];
  private eOff: number[] = [];
  private eLen: number[] = [];
  private arena: Buffer = Buffer.allocUnsafe(64 * 1024);
  private arenaLen = 0;
  private dropped = false;
  private kept = 0;
  /** Replacements and drops pushed by this walk (length slots are not edits by themselves). */
  private edits = 0;
  // The record being visited, for replaceRecord.
  private recFieldStart = 0;
  private recEnd = 0;
  private recTag = 0;
  private recDelta = 0;

  private readonly rv: ResourceView;
  private readonly sv: ScopeView;
  private readonly mv: MetricView;
  private readonly recv: RecordView;

  constructor(
    private readonly visitor: RequestVisitor,
    opts: WalkOptions = {},
  ) {
    this.prune = opts.pruneEmpty ?? false;
    this.depth = visitor.record ? 4 : visitor.metric ? 3 : visitor.scope ? 2 : 1;
    // pruneEmpty needs record counts, so it walks down to records.
    if (this.prune) this.depth = 4;
    const buf = this.buf;
    this.rv = { buf, signal: 'logs', index: 0, present: false, start: 0, end: 0, parentStart: 0, parentEnd: 0 };
    this.sv = { buf, signal: 'logs', index: 0, present: false, start: 0, end: 0, parentStart: 0, parentEnd: 0, resource: this.rv };
    this.mv = { buf, index: 0, start: 0, end: 0, scope: this.sv, resource: this.rv };
    this.recv = { buf, signal: 'logs', kind: RecordKind.Log, attrField: 6, index: 0, start: 0, end: 0, scope: this.sv, resource: this.rv, metric: undefined };
  }

  walk(signal: Signal, bytes: Uint8Array): WalkResult {
    const buf = asBuffer(bytes);
    this.buf = buf;
    this.signal = signal;
    this.rv.buf = this.sv.buf = this.mv.buf = this.recv.buf = buf;
    this.rv.signal = this.sv.signal = this.recv.signal = signal;
    this.recv.metric = signal === 'metrics' ? this.mv : undefined;
    this.eKind.length = this.eStart.length = this.eEnd.length = this.eOff.length = this.eLen.length = 0;
    this.arenaLen = 0;
    this.edits = 0;
    this.items = 0;
    let delta = 0;
    let pos = 0;
    const end = buf.length;
    let index = 0;
    const want = lenTag(FIELD.requestResources);
    while (pos < end) {
      const fieldStart = pos;
      const tag = readVarint(buf, pos, end);
      pos = NEXT;
      if (tag === want) {
        const len = readVarint(buf, pos, end);
        const cs = NEXT;
        const ce = cs + len;
        if (ce > end) throw new WireFormatError('ResourceX overruns the request');
        delta += this.visitResourceX(index++, fieldStart, pos, cs, ce);
        pos = ce;
      } else pos = skipField(buf, pos, end, tag);
    }
    const items = this.depth >= 4 ? this.items : -1;
    if (this.edits === 0) return { bytes, changed: false, items };
    return { bytes: this.assemble(end + delta), changed: true, items };
  }

  // --- edits

  /** Makes room for n more bytes at arenaLen (keeping what earlier edits wrote); returns the arena. */
  private reserveArena(n: number): Buffer {
    if (this.arenaLen + n > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaLen + n));
      this.arena.copy(bigger, 0, 0, this.arenaLen);
      this.arena = bigger;
    }
    return this.arena;
  }

  /** Writes a field's tag and length at the arena's end, with room for `len` content bytes; returns where the content goes. */
  private frameField(tag: number, len: number): number {
    const arena = this.reserveArena(varintSize(tag) + varintSize(len) + len);
    return writeVarint(arena, writeVarint(arena, this.arenaLen, tag), len);
  }

  private pushReplace(start: number, end: number, tag: number, content: Uint8Array): number {
    const off = this.arenaLen;
    const p = this.frameField(tag, content.length);
    this.arena.set(content, p);
    return this.pushFramed(start, end, off, p + content.length - off);
  }

  /**
   * Records that [start,end) becomes the framed bytes just written at arena[off, off+framed). Consecutive
   * replaced siblings (a run of edited records) merge into one entry, so assembling copies the run at once.
   * A merge never crosses a container: siblings in different containers have the containers' tags and
   * lengths between them, so they are never adjacent.
   */
  private pushFramed(start: number, end: number, off: number, framed: number): number {
    this.arenaLen = off + framed;
    this.edits++;
    const k = this.eKind.length - 1;
    if (k >= 0 && this.eKind[k] === E_REPLACE && this.eEnd[k] === start && this.eOff[k]! + this.eLen[k]! === off) {
      this.eEnd[k] = end;
      this.eLen[k] += framed;
    } else this.pushEntry(E_REPLACE, start, end, off, framed);
    return framed - (end - start);
  }

  /**
   * For a record hook: replaces the record being visited by `attrs`' edited content, built straight into
   * the walker's arena (no intermediate copy). Returns REPLACED for the hook to return, or KEEP when the
   * edits left the record as it was.
   */
  replaceRecord(attrs: AttrList): VisitResult {
    const size = attrs.builtSize();
    if (size < 0) return KEEP;
    const off = this.arenaLen;
    const p = this.frameField(this.recTag, size);
    attrs.writeBuilt(this.arena, p, size);
    this.recDelta = this.pushFramed(this.recFieldStart, this.recEnd, off, p + size - off);
    return REPLACED;
  }

  /**
   * For a resource hook: whether the resource being visited holds a record (log record, span, data point),
   * read ahead without visiting anything. Transform statements of a record-context group that write the
   * resource run once per record, so on a resource without records they do not run.
   */
  hasRecords(r: ResourceView): boolean {
    const buf = this.buf;
    const metrics = this.signal === 'metrics';
    return forEachField(buf, r.parentStart, r.parentEnd, FIELD.scopes, (ss, se) =>
      forEachField(buf, ss, se, FIELD.records, (s, e) => !metrics || countMetricPoints(buf, s, e) > 0),
    );
  }

  /**
   * Reserves, before a container's children are visited, the entry that may rewrite its length prefix
   * (at lenStart), so edits stay in wire order; close() fills it in. Returns its index.
   */
  private lengthSlot(lenStart: number): number {
    this.pushEntry(E_NOP, lenStart, lenStart, 0, 0);
    return this.eKind.length - 1;
  }

  private pushEntry(kind: number, start: number, end: number, off: number, len: number): void {
    this.eKind.push(kind);
    this.eStart.push(start);
    this.eEnd.push(end);
    this.eOff.push(off);
    this.eLen.push(len);
  }

  private pushDrop(start: number, end: number): number {
    this.edits++;
    this.pushEntry(E_DROP, start, end, 0, 0);
    return start - end;
  }

  private truncate(mark: number): void {
    this.eKind.length = this.eStart.length = this.eEnd.length = this.eOff.length = this.eLen.length = mark;
  }

  /** Drops a whole field (discarding edits inside it), marks it dropped and returns its delta. */
  private dropField(mark: number, fieldStart: number, ce: number): number {
    this.truncate(mark);
    this.dropped = true;
    return this.pushDrop(fieldStart, ce);
  }

  /** Closes a container: when its content changed size, its length slot rewrites the length prefix. */
  private close(delta: number, slot: number, cs: number, ce: number): number {
    if (delta === 0) return 0;
    const newLen = ce - cs + delta;
    this.eKind[slot] = E_LENGTH;
    this.eEnd[slot] = cs;
    this.eLen[slot] = newLen;
    return delta + varintSize(newLen) - (cs - this.eStart[slot]!);
  }

  // --- levels

  /** Finds the first length-delimited `field` in [cs, ce); sets FS/FC/FE (field start, content start, end). */
  private locate(cs: number, ce: number, field: number): boolean {
    const buf = this.buf;
    const want = lenTag(field);
    let pos = cs;
    while (pos < ce) {
      const fieldStart = pos;
      const tag = readVarint(buf, pos, ce);
      pos = NEXT;
      if (tag === want) {
        const len = readVarint(buf, pos, ce);
        const s = NEXT;
        if (s + len > ce) throw new WireFormatError('length-delimited field overruns its message');
        this.fs = fieldStart;
        this.fc = s;
        this.fe = s + len;
        return true;
      }
      pos = skipField(buf, pos, ce, tag);
    }
    this.fs = this.fc = this.fe = cs;
    return false;
  }
  private fs = 0;
  private fc = 0;
  private fe = 0;

  private visitResourceX(index: number, fieldStart: number, lenStart: number, cs: number, ce: number): number {
    const rv = this.rv;
    const mark = this.eKind.length;
    const slot = this.lengthSlot(lenStart);
    rv.index = index;
    rv.parentStart = cs;
    rv.parentEnd = ce;
    rv.present = this.locate(cs, ce, FIELD.resource);
    rv.start = this.fc;
    rv.end = this.fe;
    const rFieldStart = this.fs;
    let delta = 0;
    const res = this.visitor.resource ? this.visitor.resource(rv) : KEEP;
    this.dropped = false;
    if (res === DROP) return this.dropField(mark, fieldStart, ce);
    if (res instanceof Uint8Array) delta += this.pushReplace(rFieldStart, rv.present ? rv.end : rFieldStart, lenTag(FIELD.resource), res);
    if (res !== SKIP && this.depth >= 2) {
      const buf = this.buf;
      const want = lenTag(FIELD.scopes);
      let pos = cs;
      let si = 0;
      let keptScopes = 0;
      while (pos < ce) {
        const fStart = pos;
        const tag = readVarint(buf, pos, ce);
        pos = NEXT;
        if (tag === want) {
          const len = readVarint(buf, pos, ce);
          const s = NEXT;
          const e = s + len;
          if (e > ce) throw new WireFormatError('ScopeX overruns its ResourceX');
          this.dropped = false;
          delta += this.visitScopeX(si++, fStart, pos, s, e);
          if (!this.dropped) keptScopes++;
          pos = e;
        } else pos = skipField(buf, pos, ce, tag);
      }
      if (this.prune && keptScopes === 0) return this.dropField(mark, fieldStart, ce);
    } else if (res === SKIP && this.depth >= 4) {
      this.items += this.countRecords(cs, ce, 1);
    }
    this.dropped = false;
    return this.close(delta, slot, cs, ce);
  }

  private visitScopeX(index: number, fieldStart: number, lenStart: number, cs: number, ce: number): number {
    const sv = this.sv;
    const mark = this.eKind.length;
    const slot = this.lengthSlot(lenStart);
    sv.index = index;
    sv.parentStart = cs;
    sv.parentEnd = ce;
    sv.present = this.locate(cs, ce, FIELD.scope);
    sv.start = this.fc;
    sv.end = this.fe;
    const sFieldStart = this.fs;
    let delta = 0;
    const res = this.visitor.scope ? this.visitor.scope(sv) : KEEP;
    if (res === DROP) return this.dropField(mark, fieldStart, ce);
    if (res instanceof Uint8Array) delta += this.pushReplace(sFieldStart, sv.present ? sv.end : sFieldStart, lenTag(FIELD.scope), res);
    if (res === SKIP || this.depth < 3) {
      if (this.depth >= 4) this.items += this.countRecords(cs, ce, 2);
      this.dropped = false;
      return this.close(delta, slot, cs, ce);
    }
    const buf = this.buf;
    const want = lenTag(FIELD.records);
    const metrics = this.signal === 'metrics';
    let pos = cs;
    let ri = 0;
    let keptChildren = 0;
    while (pos < ce) {
      const fStart = pos;
      const tag = readVarint(buf, pos, ce);
      pos = NEXT;
      if (tag === want) {
        const len = readVarint(buf, pos, ce);
        const s = NEXT;
        const e = s + len;
        if (e > ce) throw new WireFormatError('record overruns its scope');
        this.dropped = false;
        if (metrics) delta += this.visitMetric(ri++, fStart, pos, s, e);
        else if (this.depth >= 4)
          delta += this.visitRecord(
            ri++,
            fStart,
            s,
            e,
            this.signal === 'logs' ? RecordKind.Log : RecordKind.Span,
            this.signal === 'logs' ? FIELD.logAttributes : FIELD.spanAttributes,
            FIELD.records,
          );
        if (!this.dropped) keptChildren++;
        pos = e;
      } else pos = skipField(buf, pos, ce, tag);
    }
    if (this.prune && keptChildren === 0) return this.dropField(mark, fieldStart, ce);
    this.dropped = false;
    return this.close(delta, slot, cs, ce);
  }

  private visitMetric(index: number, fieldStart: number, lenStart: number, cs: number, ce: number): number {
    const mv = this.mv;
    const mark = this.eKind.length;
    mv.index = index;
    mv.start = cs;
    mv.end = ce;
    const res = this.visitor.metric ? this.visitor.metric(mv) : KEEP;
    if (res === DROP) return this.dropField(mark, fieldStart, ce);
    if (res instanceof Uint8Array) throw new Error('RequestVisitor.metric may return KEEP, DROP or SKIP only');
    if (res === SKIP || this.depth < 4) {
      this.items += countMetricPoints(this.buf, cs, ce);
      this.dropped = false;
      return 0;
    }
    const slot = this.lengthSlot(lenStart);
    const buf = this.buf;
    let delta = 0;
    let pos = cs;
    let kept = 0;
    while (pos < ce) {
      const tag = readVarint(buf, pos, ce);
      pos = NEXT;
      const data = (tag & 7) === 2 ? METRIC_DATA[Math.floor(tag / 8)] : undefined;
      if (data !== undefined) {
        const lenStart = pos;
        const len = readVarint(buf, pos, ce);
        const s = NEXT;
        const e = s + len;
        if (e > ce) throw new WireFormatError('metric data overruns its metric');
        const dataSlot = this.lengthSlot(lenStart);
        // Gauge/Sum/...: data_points=1 inside; other fields (temporality, monotonic) are copied.
        let dDelta = 0;
        let p = s;
        let pi = 0;
        const want = lenTag(FIELD.dataPoints);
        while (p < e) {
          const fStart = p;
          const t = readVarint(buf, p, e);
          p = NEXT;
          if (t === want) {
            const l = readVarint(buf, p, e);
            const ps = NEXT;
            const pe = ps + l;
            if (pe > e) throw new WireFormatError('data point overruns its metric');
            this.dropped = false;
            dDelta += this.visitRecord(pi++, fStart, ps, pe, data[0], data[1], FIELD.dataPoints);
            if (!this.dropped) kept++;
            p = pe;
          } else p = skipField(buf, p, e, t);
        }
        delta += this.close(dDelta, dataSlot, s, e);
        pos = e;
      } else pos = skipField(buf, pos, ce, tag);
    }
    if (this.prune && kept === 0) return this.dropField(mark, fieldStart, ce);
    this.dropped = false;
    return this.close(delta, slot, cs, ce);
  }

  private visitRecord(index: number, fieldStart: number, cs: number, ce: number, kind: RecordKind, attrField: number, field: number): number {
    const rec = this.recv;
    rec.index = index;
    rec.kind = kind;
    rec.attrField = attrField;
    rec.start = cs;
    rec.end = ce;
    this.recFieldStart = fieldStart;
    this.recEnd = ce;
    this.recTag = lenTag(field);
    const res = this.visitor.record ? this.visitor.record(rec) : KEEP;
    if (res === DROP) {
      this.dropped = true;
      return this.pushDrop(fieldStart, ce);
    }
    this.items++;
    if (res === REPLACED) return this.recDelta;
    if (res instanceof Uint8Array) return this.pushReplace(fieldStart, ce, this.recTag, res);
    return 0;
  }

  /** Counts records below a container without visiting them (level 1: ResourceX content, 2: ScopeX content). */
  private countRecords(cs: number, ce: number, level: number): number {
    let n = 0;
    const buf = this.buf;
    const metrics = this.signal === 'metrics';
    let pos = cs;
    while (pos < ce) {
      const tag = readVarint(buf, pos, ce);
      pos = NEXT;
      if (tag === lenTag(2)) {
        const len = readVarint(buf, pos, ce);
        const s = NEXT;
        const e = s + len;
        if (e > ce) throw new WireFormatError('length-delimited field overruns its message');
        if (level === 1) n += this.countRecords(s, e, 2);
        else n += metrics ? countMetricPoints(buf, s, e) : 1;
        pos = e;
      } else pos = skipField(buf, pos, ce, tag);
    }
    return n;
  }

  private assemble(total: number): Buffer {
    const n = this.eKind.length;
    let order: number[] | undefined;
    for (let i = 1; i < n; i++) {
      if (this.eStart[i]! < this.eStart[i - 1]! || (this.eStart[i] === this.eStart[i - 1] && this.eEnd[i]! < this.eEnd[i - 1]!)) {
        // A Resource or scope field after its siblings on the wire: edits were pushed out of order.
        order = Array.from({ length: n }, (_, k) => k).sort((a, b) => this.eStart[a]! - this.eStart[b]! || this.eEnd[a]! - this.eEnd[b]!);
        break;
      }
    }
    const src = this.buf;
    const out = Buffer.allocUnsafe(total);
    let s = 0;
    let d = 0;
    for (let k = 0; k < n; k++) {
      const i = order ? order[k]! : k;
      const start = this.eStart[i]!;
      if (start > s) d = copyBytes(src, s, start, out, d);
      switch (this.eKind[i]) {
        case E_REPLACE: {
          const off = this.eOff[i]!;
          d = copyBytes(this.arena, off, off + this.eLen[i]!, out, d);
          break;
        }
        case E_LENGTH:
          d = writeVarint(out, d, this.eLen[i]!);
          break;
        default:
          break;
      }
      s = this.eEnd[i]!;
    }
    if (s < src.length) d = copyBytes(src, s, src.length, out, d);
    if (d !== total) throw new Error(`wire-edit: assembled ${d} bytes, expected ${total}`);
    return out;
  }
}
