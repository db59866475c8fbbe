/**
 * Remembers which sequence numbers each run delivered: a bitmap per run in 64 Ki-bit chunks (8 KiB each,
 * allocated on first use, so sparse or offset sequences cost nothing extra), plus a second bitmap of the
 * numbers seen more than once. Verification walks the acked ranges against the bitmap.
 */
import type { AckedFile, SeqRanges } from '../loadgen/common.js';

const CHUNK_BITS = 1 << 16;
const CHUNK_BYTES = CHUNK_BITS >> 3;
const MAX_LISTED = 20;

class Bitmap {
  private readonly chunks = new Map<number, Uint8Array>();
  private lastIdx = -1;
  private last: Uint8Array | undefined;

  private chunk(idx: number, create: boolean): Uint8Array | undefined {
    if (idx === this.lastIdx) return this.last;
    let c = this.chunks.get(idx);
    if (!c && create) {
      c = new Uint8Array(CHUNK_BYTES);
      this.chunks.set(idx, c);
    }
    if (c) {
      this.lastIdx = idx;
      this.last = c;
    }
    return c;
  }

  /** Sets the bit; returns true when it was already set. */
  testAndSet(n: number): boolean {
    const c = this.chunk(Math.floor(n / CHUNK_BITS), true)!;
    const bit = n % CHUNK_BITS;
    const byte = bit >> 3;
    const mask = 1 << (bit & 7);
    const was = (c[byte]! & mask) !== 0;
    c[byte] = c[byte]! | mask;
    return was;
  }

  has(n: number): boolean {
    const c = this.chunk(Math.floor(n / CHUNK_BITS), false);
    if (!c) return false;
    const bit = n % CHUNK_BITS;
    return (c[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  /** Sorted ranges of set bits (at most `limit`), and the total count. */
  ranges(limit: number): { ranges: SeqRanges; total: number } {
    const ranges: SeqRanges = [];
    let total = 0;
    const idxs = [...this.chunks.keys()].sort((a, b) => a - b);
    let open = -1;
    let prev = -2;
    for (const idx of idxs) {
      const c = this.chunks.get(idx)!;
      for (let byte = 0; byte < CHUNK_BYTES; byte++) {
        const v = c[byte]!;
        if (v === 0) continue;
        for (let b = 0; b < 8; b++) {
          if (!(v & (1 << b))) continue;
          const n = idx * CHUNK_BITS + byte * 8 + b;
          total++;
          if (n !== prev + 1) {
            if (open >= 0 && ranges.length < limit) ranges.push([open, prev + 1]);
            open = n;
          }
          prev = n;
        }
      }
    }
    if (open >= 0 && ranges.length < limit) ranges.push([open, prev + 1]);
    return { ranges, total };
  }
}

export interface RunState {
  /** Records of this run received with a sequence number (copies included). */
  records: number;
  /** Distinct sequence numbers seen. */
  distinct: number;
  /** Extra copies received (a number seen k times adds k-1). */
  duplicates: number;
  seen: Bitmap;
  dup: Bitmap;
}

export interface RunVerification {
  runId: string;
  /** Records the load generator had acknowledged. */
  acked: number;
  /** Acked and seen. */
  delivered: number;
  /** Acked but never seen: data loss. */
  lost: number;
  lostRanges: SeqRanges;
  /** Extra copies received (allowed by at-least-once, reported for the record). */
  duplicates: number;
  duplicateRanges: SeqRanges;
  /** Seen but not acked (sent, delivered, but the ack did not reach the client: retried or timed out). */
  unacked: number;
}

export interface VerifyReport {
  /** True when nothing acknowledged was lost. */
  ok: boolean;
  lost: number;
  duplicates: number;
  runs: RunVerification[];
}

export class SeqTracker {
  readonly runs = new Map<string, RunState>();
  private cur: RunState | undefined;
  private curId: string | undefined;

  /** Selects the run following records belong to. */
  setRun(runId: string): void {
    if (runId === this.curId) return;
    this.curId = runId;
    let r = this.runs.get(runId);
    if (!r) {
      r = { records: 0, distinct: 0, duplicates: 0, seen: new Bitmap(), dup: new Bitmap() };
      this.runs.set(runId, r);
    }
    this.cur = r;
  }

  mark(seq: number): void {
    const r = this.cur!;
    r.records++;
    if (r.seen.testAndSet(seq)) {
      r.duplicates++;
      r.dup.testAndSet(seq);
    } else {
      r.distinct++;
    }
  }

  verifyRun(runId: string, ackedRanges: SeqRanges): RunVerification {
    const r = this.runs.get(runId);
    let acked = 0;
    let delivered = 0;
    const lostRanges: SeqRanges = [];
    for (const [s, e] of ackedRanges) {
      acked += e - s;
      if (!r) {
        if (lostRanges.length < MAX_LISTED) lostRanges.push([s, e]);
        continue;
      }
      let open = -1;
      for (let n = s; n < e; n++) {
        if (r.seen.has(n)) {
          delivered++;
          if (open >= 0) {
            if (lostRanges.length < MAX_LISTED) lostRanges.push([open, n]);
            open = -1;
          }
        } else if (open < 0) open = n;
      }
      if (open >= 0 && lostRanges.length < MAX_LISTED) lostRanges.push([open, e]);
    }
    const dups = r ? r.dup.ranges(MAX_LISTED) : { ranges: [], total: 0 };
    return {
      runId,
      acked,
      delivered,
      lost: acked - delivered,
      lostRanges,
      duplicates: r?.duplicates ?? 0,
      duplicateRanges: dups.ranges,
      unacked: (r?.distinct ?? 0) - delivered,
    };
  }

  verify(files: ReadonlyArray<Pick<AckedFile, 'runId' | 'ackedRanges'>>): VerifyReport {
    const runs = files.map((f) => this.verifyRun(f.runId, f.ackedRanges));
    const lost = runs.reduce((a, r) => a + r.lost, 0);
    const duplicates = runs.reduce((a, r) => a + r.duplicates, 0);
    return { ok: lost === 0, lost, duplicates, runs };
  }
}

/** Parses acked-file content: one AckedFile, an array of them, or a loadgen `--json` result. */
export function parseAckedFile(text: string, source = 'acked file'): AckedFile[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message}); expected what \`loadgen --acked-file\` writes`, { cause: e });
  }
  const list = Array.isArray(v) ? v : [v];
  return list.map((x, i) => {
    const o = x as Partial<AckedFile> | null;
    if (!o || typeof o.runId !== 'string' || !Array.isArray(o.ackedRanges)) {
      throw new Error(`${source}: entry ${i} lacks runId (string) and ackedRanges ([[start, end], ...])`);
    }
    for (const r of o.ackedRanges) {
      if (!Array.isArray(r) || r.length !== 2 || !Number.isSafeInteger(r[0]) || !Number.isSafeInteger(r[1]) || r[1] < r[0]) {
        throw new Error(`${source}: entry ${i} (run ${o.runId}) has a bad range ${JSON.stringify(r)}; expected [start, endExclusive]`);
      }
    }
    return { runId: o.runId, signal: String(o.signal ?? ''), acked: Number(o.acked ?? 0), ackedRanges: o.ackedRanges };
  });
}
