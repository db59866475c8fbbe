/**
 * Splits an encoded Export request between backends on the wire. The three signals share one shape:
 * the request holds ResourceX (field 1); a ResourceX holds its Resource and schema_url and ScopeX (field
 * 2); a ScopeX holds its scope and schema_url and leaves (field 2: spans, log records, metrics). Each
 * backend's part is the request rebuilt from the ResourceX and ScopeX fields as received (copied, not
 * decoded) around the leaves routed to it; containers left without leaves are left out. A request whose
 * leaves all go to one backend is handed on as the very bytes it arrived as.
 */
import { NEXT, copyBytes, readVarint, skipField, varintSize, writeVarint } from '../../src/pdata/wire-primitives.js';
import { Ints, ResourceLeaves } from '../../src/pdata/resource-leaves.js';

/** Chooses a backend per ResourceX (resource-level keys) or per leaf. */
export interface Router {
  /** The backend of every leaf of this ResourceX, or -1 to route leaf by leaf. */
  resource(buf: Uint8Array, start: number, end: number): number;
  /** The backend of one leaf (content range), within ResourceX rx[start:end]. */
  leaf(buf: Uint8Array, start: number, end: number, rxStart: number, rxEnd: number): number;
}

export class WireSplitter {
  // One ResourceX at a time: its parts and its leaves' backends.
  private readonly rx = new ResourceLeaves();
  private readonly scopeSize = new Ints();
  private router: Router | undefined;
  private readonly leafOf = (buf: Uint8Array, s: number, e: number, rs: number, re: number): number => this.router!.leaf(buf, s, e, rs, re);
  private outs: Buffer[] = [];
  private outLen: number[] = [];
  /** After split(): the leaves (spans, log records, metrics) in each backend's part. */
  leaves: number[] = [];
  /** Parts written straight into their own buffer (the request's last ResourceX only): no copy out of the scratch. */
  private direct: (Buffer | undefined)[] = [];
  private last = false;
  private seen = new Int32Array(0);
  private serial = 0;

  /**
   * The part of `buf` for each of `backends` backends (undefined: nothing for that backend). Synchronous;
   * the parts are new arrays (or `buf` itself when everything goes to one backend).
   */
  split(buf: Uint8Array, backends: number, router: Router): (Uint8Array | undefined)[] {
    if (this.outs.length < backends) {
      for (let i = this.outs.length; i < backends; i++) this.outs.push(Buffer.allocUnsafe(4096));
      this.seen = new Int32Array(backends);
    }
    this.outLen = new Array<number>(backends).fill(0);
    this.leaves = new Array<number>(backends).fill(0);
    this.direct = new Array<Buffer | undefined>(backends).fill(undefined);
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
          // The request's last ResourceX (often its only one: an SDK's export) is written into each part's
          // own buffer, not the scratch; and when every leaf so far went to one backend, the request goes on
          // as it is, so nothing is built.
          this.last = next === end;
          if (!this.last || only === -1) this.emit(buf);
        }
      }
      pos = next;
    }
    const out = new Array<Uint8Array | undefined>(backends).fill(undefined);
    // Everything for one backend: the request goes on as it arrived (the copy built is dropped).
    if (only >= 0) out[only] = buf;
    else if (only === -1) {
      for (let i = 0; i < backends; i++) {
        const n = this.outLen[i]!;
        if (n === 0) continue;
        const direct = this.direct[i];
        if (direct !== undefined) {
          out[i] = direct;
          continue;
        }
        const part = Buffer.allocUnsafeSlow(n);
        this.outs[i]!.copy(part, 0, 0, n);
        out[i] = part;
      }
    }
    return out;
  }

  /** Reads one ResourceX; returns its single backend, -1 if several, -3 if it has no leaves. */
  private collect(buf: Uint8Array, rs: number, re: number, router: Router): number {
    const fixed = router.resource(buf, rs, re);
    this.router = router;
    this.rx.read(buf, rs, re, fixed >= 0 ? fixed : this.leafOf);
    const { a, n } = this.rx.leafGroup;
    let single = -3;
    for (let i = 0; i < n; i++) {
      const b = a[i]!;
      single = single === -3 ? b : single === b ? b : -1;
    }
    return single;
  }

  /** Appends the collected ResourceX to each backend that has leaves in it. */
  private emit(buf: Uint8Array): void {
    const serial = ++this.serial;
    const nLeaves = this.rx.leafStart.n;
    const nScopes = this.rx.scopes;
    const lb = this.rx.leafGroup.a;
    for (let i = 0; i < nLeaves; i++) {
      const b = lb[i]!;
      if (this.seen[b] === serial) continue;
      this.seen[b] = serial;
      this.emitFor(buf, b, nScopes);
    }
  }

  private emitFor(buf: Uint8Array, b: number, nScopes: number): void {
    const { leafStart, leafEnd, leafScope, leafGroup: leafBackend, scopeOther, scopeFrom: scopeOtherFrom, other: rxOther } = this.rx;
    const sizes = this.scopeSize;
    sizes.n = 0;
    for (let k = 0; k < nScopes; k++) sizes.push(-1);
    let leaves = 0;
    for (let i = 0; i < leafStart.n; i++) {
      if (leafBackend.a[i] !== b) continue;
      leaves++;
      const k = leafScope.a[i]!;
      if (sizes.a[k] === -1) sizes.a[k] = this.rx.scopeOtherSize(k);
      sizes.a[k] += leafEnd.a[i]! - leafStart.a[i]!;
    }
    let rx = this.rx.otherSize();
    for (let k = 0; k < nScopes; k++) if (sizes.a[k]! >= 0) rx += 1 + varintSize(sizes.a[k]!) + sizes.a[k]!;
    const need = 1 + varintSize(rx) + rx;
    let out = this.outs[b]!;
    let p = this.outLen[b]!;
    if (this.last && p === 0) {
      out = this.direct[b] = Buffer.allocUnsafeSlow(need);
    } else if (p + need > out.length) {
      const grown = Buffer.allocUnsafe(Math.max(out.length * 2, p + need));
      out.copy(grown, 0, 0, p);
      this.outs[b] = out = grown;
    }
    out[p++] = 0x0a;
    p = writeVarint(out, p, rx);
    for (let j = 0; j < rxOther.n; j += 2) p = copyBytes(buf, rxOther.a[j]!, rxOther.a[j + 1]!, out, p);
    for (let k = 0; k < nScopes; k++) {
      if (sizes.a[k]! < 0) continue;
      out[p++] = 0x12;
      p = writeVarint(out, p, sizes.a[k]!);
      for (let j = scopeOtherFrom.a[k]!; j < scopeOtherFrom.a[k + 1]!; j += 2) p = copyBytes(buf, scopeOther.a[j]!, scopeOther.a[j + 1]!, out, p);
      // Adjacent leaves of this backend are copied as one run (spans of one trace usually sit together).
      let runS = -1;
      let runE = -1;
      for (let i = 0; i < leafStart.n; i++) {
        if (leafBackend.a[i] !== b || leafScope.a[i] !== k) continue;
        if (leafStart.a[i] === runE) runE = leafEnd.a[i]!;
        else {
          if (runS >= 0) p = copyBytes(buf, runS, runE, out, p);
          runS = leafStart.a[i]!;
          runE = leafEnd.a[i]!;
        }
      }
      if (runS >= 0) p = copyBytes(buf, runS, runE, out, p);
    }
    this.outLen[b] = p;
    this.leaves[b]! += leaves;
  }
}
