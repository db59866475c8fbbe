/**
 * Splits an encoded Export request between backends on the wire. The three signals share one shape:
 * the request holds ResourceX (field 1); a ResourceX holds its Resource and schema_url and ScopeX (field
 * 2); a ScopeX holds its scope and schema_url and leaves (field 2: spans, log records, metrics). Each
 * backend's part is the request rebuilt from the ResourceX and ScopeX fields as received around the
 * leaves routed to it; containers left without leaves are left out. Nothing is decoded.
 *
 * A part is a list of pieces: views of the request's own bytes (its resource and scope fields, each run of
 * adjacent leaves of one backend) between new ResourceX and ScopeX headers (tag and length, the only bytes
 * written). Written in order they are the part; a sender that writes pieces in turn (the OTLP/gRPC client)
 * sends it without a copy. With `copy`, each part is joined into one buffer of its own instead, for a part
 * that may outlive the request (a sending queue): a view would keep the whole request in memory while the
 * queue counts only the part. A request whose leaves all go to one backend is handed on as the very bytes
 * it arrived as.
 */
import { NEXT, readVarint, skipField, varintSize, writeVarint } from '../../src/pdata/wire-primitives.js';
import { Ints, ResourceLeaves } from '../../src/pdata/resource-leaves.js';
import { MIXED_BASE, type PointSplit } from './point-split.js';

/** Chooses a backend per ResourceX (resource-level keys) or per leaf. */
export interface Router {
  /** The backend of every leaf of this ResourceX, or -1 to route leaf by leaf. */
  resource(buf: Uint8Array, start: number, end: number): number;
  /**
   * The backend of one leaf (content range), within ResourceX content rx[start:end] and ScopeX content
   * scope[start:end]; with `points`, MIXED_BASE - m for a metric whose points it split between backends.
   */
  leaf(buf: Uint8Array, start: number, end: number, rxStart: number, rxEnd: number, scopeStart: number, scopeEnd: number): number;
  /** Routers that route metrics by data point: the metrics they split (point-split.ts). */
  readonly points?: PointSplit;
}

/**
 * A part of at least this many pieces averaging under JOIN_AVERAGE_BYTES is joined into one buffer: each
 * piece is a write on the HTTP/2 stream (about a microsecond each), a copy costs far less per byte
 * (bench/loadbalancing.mjs --metrics: streamID parts hold a piece or more per data point).
 */
const JOIN_PIECES = 32;
const JOIN_AVERAGE_BYTES = 256;

export class WireSplitter {
  // One ResourceX at a time: its fields and its runs of adjacent leaves of one backend.
  private readonly rx = new ResourceLeaves(true);
  private readonly scopeSize = new Ints();
  private router: Router | undefined;
  private readonly leafOf = (buf: Uint8Array, s: number, e: number, rs: number, re: number, ss: number, se: number): number =>
    this.router!.leaf(buf, s, e, rs, re, ss, se);
  private points: PointSplit | undefined;
  private nBackends = 0;
  private pieces: Uint8Array[][] = [];
  private partBytes: number[] = [];
  /** After split(): the leaves (spans, log records, metrics) in each backend's part. */
  leaves: number[] = [];
  private seen = new Int32Array(0);
  private serial = 0;

  /**
   * `copy`: each part joined into one new buffer (see the file's comment). `joinSmall`: a part of many
   * small pieces is joined too (JOIN_PIECES).
   */
  constructor(
    private readonly copy = false,
    private readonly joinSmall = false,
  ) {}

  /**
   * The pieces of `buf`'s part for each of `backends` backends (undefined: nothing for that backend); with
   * `copy`, one piece. Synchronous; `[buf]` itself when everything goes to one backend.
   */
  split(buf: Uint8Array, backends: number, router: Router): (Uint8Array[] | undefined)[] {
    if (this.seen.length < backends) this.seen = new Int32Array(backends);
    this.nBackends = backends;
    this.pieces = [];
    this.partBytes = new Array<number>(backends).fill(0);
    this.leaves = new Array<number>(backends).fill(0);
    for (let i = 0; i < backends; i++) this.pieces.push([]);
    let only = -2; // -2: no leaf yet; -1: several backends
    const end = buf.length;
    let pos = 0;
    while (pos < end) {
      const tag = readVarint(buf, pos, end);
      // For a length-delimited field, NEXT is left at the start of its content.
      const next = skipField(buf, NEXT, end, tag);
      if (tag === 0x0a) {
        const b = this.collect(buf, NEXT, next, router);
        if (b !== -3) {
          only = only === -2 || only === b ? b : -1;
          // When every leaf so far went to one backend and this is the request's last ResourceX (often its
          // only one: an SDK's export), the request goes on as it is: nothing to build.
          if (next !== end || only === -1) this.emit(buf);
        }
      }
      pos = next;
    }
    const out = new Array<Uint8Array[] | undefined>(backends).fill(undefined);
    if (only >= 0) {
      out[only] = [buf];
      return out;
    }
    if (only === -2) return out;
    for (let i = 0; i < backends; i++) {
      const n = this.partBytes[i]!;
      if (n === 0) continue;
      const pieces = this.pieces[i]!;
      // Many small pieces (a split by data point) cost more to write one by one than to join.
      out[i] = this.copy || (this.joinSmall && pieces.length >= JOIN_PIECES && n < JOIN_AVERAGE_BYTES * pieces.length) ? [Buffer.concat(pieces, n)] : pieces;
    }
    return out;
  }

  /** Reads one ResourceX; returns its single backend, -1 if several, -3 if it has no leaves. */
  private collect(buf: Uint8Array, rs: number, re: number, router: Router): number {
    const fixed = router.resource(buf, rs, re);
    this.router = router;
    this.points = router.points;
    this.points?.reset(this.nBackends);
    this.rx.read(buf, rs, re, fixed >= 0 ? fixed : this.leafOf);
    const { a, n } = this.rx.leafGroup;
    let single = -3;
    for (let i = 0; i < n; i++) {
      const b = a[i]!;
      if (b <= MIXED_BASE) return -1; // a metric split between backends
      single = single === -3 ? b : single === b ? b : -1;
    }
    return single;
  }

  /** Adds the collected ResourceX to each backend that has leaves in it. */
  private emit(buf: Uint8Array): void {
    const serial = ++this.serial;
    const runs = this.rx.leafGroup;
    const emitOnce = (b: number): void => {
      if (this.seen[b] === serial) return;
      this.seen[b] = serial;
      this.emitFor(buf, b);
    };
    for (let i = 0; i < runs.n; i++) {
      const g = runs.a[i]!;
      if (g > MIXED_BASE) emitOnce(g);
      else this.points!.eachBackend(MIXED_BASE - g, emitOnce);
    }
  }

  /** Bytes of run i's leaves for backend b as they go in b's part, or -1 when it has none for b. */
  private runSize(i: number, b: number): number {
    const g = this.rx.leafGroup.a[i]!;
    if (g === b) return this.rx.leafEnd.a[i]! - this.rx.leafStart.a[i]!;
    if (g > MIXED_BASE || !this.points!.has(MIXED_BASE - g, b)) return -1;
    return this.points!.leafSize(MIXED_BASE - g, b);
  }

  /** Backend b's share of the collected ResourceX: new headers around views of the request. */
  private emitFor(buf: Uint8Array, b: number): void {
    const { leafStart, leafEnd, leafScope, leafGroup, leafCount, scopeOther, scopeFrom, other } = this.rx;
    const nScopes = this.rx.scopes;
    const nRuns = leafStart.n;
    // Sizes of b's ScopeX (-1: none of its leaves there) and of its ResourceX; runs come in scope order.
    const sizes = this.scopeSize;
    sizes.n = 0;
    for (let k = 0; k < nScopes; k++) sizes.push(-1);
    let leaves = 0;
    let scopesUsed = 0;
    let splitBytes = 0; // header bytes of b's shares of split metrics
    for (let i = 0; i < nRuns; i++) {
      const size = this.runSize(i, b);
      if (size < 0) continue;
      leaves += leafCount.a[i]!;
      if (leafGroup.a[i] !== b) splitBytes += 12 + this.points!.prefixSize(MIXED_BASE - leafGroup.a[i]!);
      const k = leafScope.a[i]!;
      if (sizes.a[k] === -1) {
        sizes.a[k] = this.rx.scopeOtherSize(k);
        scopesUsed++;
      }
      sizes.a[k] += size;
    }
    let rx = this.rx.otherSize();
    for (let k = 0; k < nScopes; k++) if (sizes.a[k]! >= 0) rx += 1 + varintSize(sizes.a[k]!) + sizes.a[k]!;
    // The headers of this ResourceX and its ScopeX (at most 6 bytes each) and of split metrics (point-split.ts),
    // in one small buffer.
    const head = Buffer.allocUnsafe(6 * (1 + scopesUsed) + splitBytes);
    const pieces = this.pieces[b]!;
    head[0] = 0x0a;
    let h = writeVarint(head, 1, rx);
    pieces.push(head.subarray(0, h));
    pushRanges(buf, other, 0, other.n, pieces);
    let scope = -1;
    for (let i = 0; i < nRuns; i++) {
      const g = leafGroup.a[i]!;
      if (g !== b && (g > MIXED_BASE || !this.points!.has(MIXED_BASE - g, b))) continue;
      const k = leafScope.a[i]!;
      if (k !== scope) {
        scope = k;
        const start = h;
        head[h++] = 0x12;
        h = writeVarint(head, h, sizes.a[k]!);
        pieces.push(head.subarray(start, h));
        pushRanges(buf, scopeOther, scopeFrom.a[k]!, scopeFrom.a[k + 1]!, pieces);
      }
      if (g === b) pieces.push(buf.subarray(leafStart.a[i]!, leafEnd.a[i]!));
      else h = this.points!.push(MIXED_BASE - g, b, head, h, pieces, buf);
    }
    this.partBytes[b]! += 1 + varintSize(rx) + rx;
    this.leaves[b]! += leaves;
  }
}

/** Views of the ranges (start,end pairs) pairs[from:to] of buf, adjacent ranges as one. */
function pushRanges(buf: Uint8Array, pairs: Ints, from: number, to: number, pieces: Uint8Array[]): void {
  const a = pairs.a;
  for (let j = from; j < to; j += 2) {
    const s = a[j]!;
    let e = a[j + 1]!;
    while (j + 2 < to && a[j + 2] === e) {
      j += 2;
      e = a[j + 1]!;
    }
    pieces.push(buf.subarray(s, e));
  }
}
