/**
 * How many spans one span stands for, from its W3C tracestate (`ot=th:<threshold>`, OpenTelemetry's
 * consistent probability sampling): 1 / sampling probability, rounded stochastically to a whole count as
 * the collector's spanmetrics connector does (floor, plus one with the probability of the fraction). A span
 * without a valid tracestate or without `th` counts 1 and is "counted", not "extrapolated".
 *
 * Spans of one trace (and often of one request) carry the same tracestate: the last one's bytes and weight
 * are kept, so a repeated tracestate costs a byte comparison, not a parse.
 */
import { parseTValue, thresholdProbability } from '../../src/pdata/sampling.js';
import { TraceState } from '../../src/pdata/tracestate.js';

/** A tracestate is at most 512 characters (W3C); longer ones are parsed every time. */
const CACHED_BYTES = 512;

export class AdjustedCounts {
  private readonly state = new TraceState();
  private readonly last = Buffer.allocUnsafe(CACHED_BYTES);
  private lastLen = -1;
  private lastWeight = 0;

  private sameAsLast(buf: Buffer, start: number, len: number): boolean {
    return len <= 64 ? sameBytes(this.last, buf, start, len) : this.last.compare(buf, start, start + len, 0, len) === 0;
  }

  /** The span's weight (1 / probability), or 0 when its tracestate gives none (the span counts 1, "counted"). */
  weight(buf: Buffer, start: number, end: number): number {
    const len = end - start;
    if (len <= 0) return 0;
    if (len === this.lastLen && this.sameAsLast(buf, start, len)) return this.lastWeight;
    let weight = 0;
    if (this.state.parse(buf.toString('utf8', start, end)) === undefined && this.state.th !== '') {
      const t = parseTValue(this.state.th);
      if (t) weight = 1 / thresholdProbability(t);
    }
    if (len <= CACHED_BYTES) {
      buf.copy(this.last, 0, start, end);
      this.lastLen = len;
      this.lastWeight = weight;
    }
    return weight;
  }
}

/** A tracestate is short (`ot=th:8` is 7 bytes): a loop beats a native Buffer#compare call. */
function sameBytes(a: Buffer, b: Buffer, bStart: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== b[bStart + i]) return false;
  return true;
}

/** A weight as a whole count: its floor, plus one with the probability of its fraction. */
export function stochasticCount(weight: number): number {
  const floor = Math.floor(weight);
  return weight - floor > 0 && Math.random() < weight - floor ? floor + 1 : floor;
}
