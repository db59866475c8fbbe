/** A new number data point from another point of any type: its attributes (copied) and timestamps. */
import { clone, create } from '@bufbuild/protobuf';
import { KeyValueSchema, type KeyValue } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import { NumberDataPointSchema, type NumberDataPoint } from '../../proto/gen/opentelemetry/proto/metrics/v1/metrics_pb.js';

export interface SourcePoint {
  attributes: KeyValue[];
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
}

export function pointFrom(p: SourcePoint, value: NumberDataPoint['value']): NumberDataPoint {
  return create(NumberDataPointSchema, {
    attributes: p.attributes.map((kv) => clone(KeyValueSchema, kv)),
    startTimeUnixNano: p.startTimeUnixNano,
    timeUnixNano: p.timeUnixNano,
    value,
  });
}
