/**
 * Splits one Metric between backends by data point, on the wire, for the routing keys that route each
 * data point (streamID, attributes): a metric whose points all go to one backend stays a whole leaf of
 * the split (split.ts); one whose points go to several becomes, for each of those backends, a new Metric
 * header around the metric's own fields (name, description, unit, metadata), a new header of its data
 * field (gauge, sum, histogram, exponential_histogram, summary) around that field's own fields
 * (temporality, monotonic) and views of the backend's data points. Nothing is decoded or copied.
 *
 * Tables hold the metrics of one ResourceX at a time (reset() before each); a metric split between
 * backends is known to the splitter by its index m, encoded in the leaf's group as -2 - m.
 */
import { NEXT, copyBytes, readVarint, skipField, varintSize, writeVarint } from '../../src/pdata/wire-primitives.js';
import { Ints } from '../../src/pdata/resource-leaves.js';
import { METRIC_DATA } from '../../src/processorhelper/otlp-fields.js';
import { crc32 } from './ring.js';

/**
 * The backend of one data point (content buf[start:end]; its attributes are field `attrsField`); called
 * with an empty range for a metric without data points.
 */
export type PointBackend = (buf: Uint8Array, start: number, end: number, attrsField: number) => number;

/** A leaf group below -1 names a metric split between backends: m = MIXED_BASE - group. */
export const MIXED_BASE = -2;

const METRIC_TAG = 0x12; // ScopeMetrics.metrics
const DATA_POINT_TAG = 0x0a; // data_points in every data kind
const NAME_TAG = 0x0a;
const KIND = new Uint8Array(1);
const UNIT_TAG = 0x1a;

export class PointSplit {
  /** Pairs start,end: the metric's fields other than its data field, and the data field's other than points. */
  private readonly ranges = new Ints();
  private readonly dpStart = new Ints();
  private readonly dpEnd = new Ints();
  private readonly dpBackend = new Ints();
  // Per split metric m.
  private readonly metricFrom = new Ints(); // its first pair in ranges
  private readonly dataFrom = new Ints(); // its data field's first pair in ranges
  private readonly dataTo = new Ints();
  private readonly dataTag = new Ints();
  private readonly pointFrom = new Ints(); // its first point; one more entry past the last metric
  private readonly pointTo = new Ints();
  /** The metric being read: crc32 of its name, unit, data kind and the data field's other fields (its identity). */
  metricHash = 0;

  /** Per split metric m and backend b (at m * backends + b): its data field's content bytes for b, -1 if none. */
  private readonly share = new Ints();
  private backends = 0;
  /** Increases with every metric read, so a router can tell that a new metric began. */
  serial = 0;

  /** Forgets the metrics of the previous ResourceX; `backends` is the number of backends of this split. */
  reset(backends: number): void {
    this.backends = backends;
    this.share.n = 0;
    this.ranges.n = this.dpStart.n = this.dpEnd.n = this.dpBackend.n = 0;
    this.metricFrom.n = this.dataFrom.n = this.dataTo.n = this.dataTag.n = this.pointFrom.n = this.pointTo.n = 0;
  }

  /** Number of split metrics read since reset(). */
  get count(): number {
    return this.metricFrom.n;
  }

  /**
   * Reads Metric content buf[s:e]: its backend when all its points go to one, else MIXED_BASE - m (the
   * metric is kept as split metric m).
   */
  add(buf: Uint8Array, s: number, e: number, pointOf: PointBackend): number {
    this.serial++;
    const r0 = this.ranges.n;
    const p0 = this.dpStart.n;
    let dataTag = -1;
    let dataStart = 0;
    let dataEnd = 0;
    let twoData = false;
    let h = 0;
    let pos = s;
    while (pos < e) {
      const fs = pos;
      const tag = readVarint(buf, pos, e);
      const next = skipField(buf, NEXT, e, tag);
      if ((tag & 7) === 2 && METRIC_DATA[tag >>> 3] !== undefined) {
        twoData ||= dataTag !== -1;
        dataTag = tag;
        dataStart = NEXT;
        dataEnd = next;
      } else {
        if (tag === NAME_TAG || tag === UNIT_TAG) h = crc32(buf, fs, next, h);
        this.ranges.push(fs);
        this.ranges.push(next);
      }
      pos = next;
    }
    if (dataTag === -1 || twoData) {
      // No data points to split (or a metric carrying two data fields, which no encoder writes): whole.
      this.ranges.n = r0;
      this.metricHash = h;
      return pointOf(buf, 0, 0, 0);
    }
    const dataFrom = this.ranges.n;
    const attrsField = METRIC_DATA[dataTag >>> 3]![1];
    pos = dataStart;
    while (pos < dataEnd) {
      const fs = pos;
      const tag = readVarint(buf, pos, dataEnd);
      const next = skipField(buf, NEXT, dataEnd, tag);
      if (tag === DATA_POINT_TAG) {
        this.dpStart.push(fs);
        this.dpEnd.push(next);
        this.dpBackend.push(NEXT); // the point's content start, replaced by its backend below
      } else {
        this.ranges.push(fs);
        this.ranges.push(next);
      }
      pos = next;
    }
    // The identity: name and unit (above), the data kind and its temporality and monotonicity as encoded.
    KIND[0] = dataTag;
    h = crc32(KIND, 0, 1, h);
    for (let j = dataFrom; j < this.ranges.n; j += 2) h = crc32(buf, this.ranges.a[j]!, this.ranges.a[j + 1]!, h);
    this.metricHash = h;
    const n = this.dpStart.n;
    if (n === p0) {
      this.ranges.n = r0;
      return pointOf(buf, 0, 0, 0);
    }
    let single = -1;
    let mixed = false;
    for (let i = p0; i < n; i++) {
      const b = pointOf(buf, this.dpBackend.a[i]!, this.dpEnd.a[i]!, attrsField);
      this.dpBackend.a[i] = b;
      if (single === -1) single = b;
      else if (b !== single) mixed = true;
    }
    if (!mixed) {
      this.ranges.n = r0;
      this.dpStart.n = this.dpEnd.n = this.dpBackend.n = p0;
      return single;
    }
    const m = this.metricFrom.n;
    let dataOther = 0;
    for (let j = dataFrom; j < this.ranges.n; j += 2) dataOther += this.ranges.a[j + 1]! - this.ranges.a[j]!;
    const base = m * this.backends;
    for (let b = 0; b < this.backends; b++) this.share.set(base + b, -1);
    for (let i = p0; i < n; i++) {
      const at = base + this.dpBackend.a[i]!;
      const had = this.share.a[at]!;
      this.share.a[at] = (had < 0 ? dataOther : had) + this.dpEnd.a[i]! - this.dpStart.a[i]!;
    }
    this.metricFrom.push(r0);
    this.dataFrom.push(dataFrom);
    this.dataTo.push(this.ranges.n);
    this.dataTag.push(dataTag);
    this.pointFrom.push(p0);
    this.pointTo.push(n);
    return MIXED_BASE - m;
  }

  /** Whether split metric m has points for backend b. */
  has(m: number, b: number): boolean {
    return this.share.a[m * this.backends + b]! >= 0;
  }

  /** Calls `each` for every backend that has points of split metric m. */
  eachBackend(m: number, each: (b: number) => void): void {
    const base = m * this.backends;
    for (let b = 0; b < this.backends; b++) if (this.share.a[base + b]! >= 0) each(b);
  }

  /** Bytes of split metric m's own fields and its data field's own fields (copied into the part's header buffer). */
  prefixSize(m: number): number {
    const r = this.ranges.a;
    let n = 0;
    for (let j = this.metricFrom.a[m]!; j < this.dataTo.a[m]!; j += 2) n += r[j + 1]! - r[j]!;
    return n;
  }

  /** Content bytes of backend b's share of split metric m (its Metric message). */
  private metricSize(m: number, b: number): number {
    const data = this.share.a[m * this.backends + b]!;
    const r = this.ranges.a;
    let metric = 1 + varintSize(data) + data;
    for (let j = this.metricFrom.a[m]!; j < this.dataFrom.a[m]!; j += 2) metric += r[j + 1]! - r[j]!;
    return metric;
  }

  /** Bytes of backend b's share of split metric m as a leaf (its Metric field, tag included). */
  leafSize(m: number, b: number): number {
    const metric = this.metricSize(m, b);
    return 1 + varintSize(metric) + metric;
  }

  /**
   * Backend b's share of split metric m: its headers and the small fields around its points (the metric's
   * own, its data field's own) written into head at h (at most 12 + prefixSize(m) bytes), pushed as one
   * piece, then views of its points. Returns the new h.
   */
  push(m: number, b: number, head: Buffer, h: number, pieces: Uint8Array[], buf: Uint8Array): number {
    const r = this.ranges.a;
    const start = h;
    head[h++] = METRIC_TAG;
    h = writeVarint(head, h, this.metricSize(m, b));
    for (let j = this.metricFrom.a[m]!; j < this.dataFrom.a[m]!; j += 2) h = copyBytes(buf, r[j]!, r[j + 1]!, head, h);
    head[h++] = this.dataTag.a[m]!;
    h = writeVarint(head, h, this.share.a[m * this.backends + b]!);
    for (let j = this.dataFrom.a[m]!; j < this.dataTo.a[m]!; j += 2) h = copyBytes(buf, r[j]!, r[j + 1]!, head, h);
    pieces.push(head.subarray(start, h));
    // Adjacent points of the backend as one view.
    const to = this.pointTo.a[m]!;
    for (let i = this.pointFrom.a[m]!; i < to; i++) {
      if (this.dpBackend.a[i] !== b) continue;
      const s = this.dpStart.a[i]!;
      let e = this.dpEnd.a[i]!;
      while (i + 1 < to && this.dpBackend.a[i + 1] === b && this.dpStart.a[i + 1] === e) e = this.dpEnd.a[++i]!;
      pieces.push(buf.subarray(s, e));
    }
    return h;
  }
}
