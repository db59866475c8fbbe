/**
 * The datapoint context's fields of an exponential histogram's point, as the collector's OTTL has them:
 * scale, zero_count and each bucket range's offset and bucket_counts. On another point they read nil and a
 * write does nothing.
 */
import { create } from '@bufbuild/protobuf';
import { ExponentialHistogramDataPoint_BucketsSchema } from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';
import type { Field, Obj } from './paths.js';
import type { Value } from './values.js';

/** Whether a data point is an exponential histogram's (its own fields: scale and the two bucket ranges). */
const isExponentialPoint = (o: Obj): boolean => 'scale' in o && 'zeroThreshold' in o;

/** A field of exponential histogram points: nil on another point; an int written (others ignored). */
function expField(get: (o: Obj) => Value, set?: (o: Obj, v: bigint) => void): Field {
  return {
    get: (o) => (isExponentialPoint(o) ? get(o) : null),
    set: set && ((o, v) => void (isExponentialPoint(o) && typeof v === 'bigint' && set(o, v))),
  };
}

type Buckets = { offset: number; bucketCounts: bigint[] };

/** The point's positive or negative bucket range as read: an absent one reads as empty (and is not created). */
const read = (o: Obj, side: 'positive' | 'negative'): Buckets | undefined => (o as Record<string, Buckets | undefined>)[side];

/** The range to write to, created when the point has none (as pdata's accessors give one). */
const write = (o: Obj, side: 'positive' | 'negative'): Buckets =>
  ((o as Record<string, Buckets | undefined>)[side] ??= create(ExponentialHistogramDataPoint_BucketsSchema));

export const EXPONENTIAL_POINT_FIELDS: Record<string, Field> = {
  scale: expField(
    (o) => BigInt(o.scale as number),
    (o, v) => (o.scale = Number(v)),
  ),
  zero_count: expField(
    (o) => o.zeroCount as bigint,
    (o, v) => (o.zeroCount = v),
  ),
  'positive.offset': expField(
    (o) => BigInt(read(o, 'positive')?.offset ?? 0),
    (o, v) => (write(o, 'positive').offset = Number(v)),
  ),
  'positive.bucket_counts': expField((o) => read(o, 'positive')?.bucketCounts.slice() ?? []),
  'negative.offset': expField(
    (o) => BigInt(read(o, 'negative')?.offset ?? 0),
    (o, v) => (write(o, 'negative').offset = Number(v)),
  ),
  'negative.bucket_counts': expField((o) => read(o, 'negative')?.bucketCounts.slice() ?? []),
};
