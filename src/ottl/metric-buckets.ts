/**
 * merge_histogram_buckets(target_value, Optional[method]) (the transform processor's, datapoint context):
 * fewer buckets in an explicit histogram point, its count and sum kept. `remove_explicit_bound` (the
 * default) removes the bound equal to target_value (within 1e-12), merging the bucket it ends into the next;
 * `limit_buckets` merges adjacent buckets in groups of the smallest size that leaves at most target_value.
 * A point whose bounds and counts do not fit (or, for limit_buckets, whose bounds are not increasing) is
 * left as it is, as the collector leaves it.
 */
import type { HistogramDataPoint, Metric } from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import { ArgError, literalString } from './functions.js';
import type { ContextEditor } from './metric-editors.js';

const EPSILON = 1e-12;

function removeBound(p: HistogramDataPoint, bound: number): void {
  const bounds = p.explicitBounds;
  const counts = p.bucketCounts;
  if (counts.length !== bounds.length + 1 || counts.length === 1) return;
  const i = bounds.findIndex((b) => Math.abs(b - bound) < EPSILON);
  if (i < 0) return;
  counts[i + 1]! += counts[i]!;
  bounds.splice(i, 1);
  counts.splice(i, 1);
}

function limitBuckets(p: HistogramDataPoint, limit: number): void {
  const bounds = p.explicitBounds;
  const counts = p.bucketCounts;
  const n = counts.length;
  if (n !== bounds.length + 1 || n <= limit || bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) return;
  let size = 2;
  while (Math.ceil(n / size) > limit) size++;
  const newCounts: bigint[] = [];
  const newBounds: number[] = [];
  for (let start = 0; start < n; start += size) {
    const end = Math.min(start + size, n) - 1;
    let sum = 0n;
    for (let i = start; i <= end; i++) sum += counts[i]!;
    newCounts.push(sum);
    // A group ends at its last bucket's bound; the last group at +inf.
    if (end < n - 1) newBounds.push(bounds[end]!);
  }
  p.explicitBounds = newBounds;
  p.bucketCounts = newCounts;
}

export const BUCKET_EDITORS: Record<string, ContextEditor> = {
  merge_histogram_buckets: {
    contexts: ['datapoint'],
    params: [{ name: 'target_value' }, { name: 'method', optional: true }],
    build: (args, fn) => {
      const a = args[0];
      const target = a?.isLiteral && (typeof a.literal === 'number' || typeof a.literal === 'bigint') ? Number(a.literal) : undefined;
      if (target === undefined || !Number.isFinite(target)) throw new ArgError(a?.col ?? 0, `${fn}: target_value must be a number literal, e.g. 0.5`);
      const method = args[1] ? literalString(args[1], fn, 'method') : 'remove_explicit_bound';
      if (method === 'remove_explicit_bound')
        return (ctx) => {
          if ((ctx.metric as Metric).data.case === 'histogram') removeBound(ctx.datapoint as HistogramDataPoint, target);
        };
      if (method !== 'limit_buckets') throw new ArgError(args[1]!.col, `${fn}: method must be "remove_explicit_bound" or "limit_buckets", got "${method}"`);
      if (!Number.isInteger(target) || target < 1)
        throw new ArgError(a!.col, `${fn}: with limit_buckets, target_value is the number of buckets to keep: a positive integer, got ${target}`);
      return (ctx) => {
        if ((ctx.metric as Metric).data.case === 'histogram') limitBuckets(ctx.datapoint as HistogramDataPoint, target);
      };
    },
  },
};
