/**
 * Field numbers and kinds of the OTLP messages the wire editor walks (opentelemetry-proto v1): what a
 * newcomer needs to read a request on the wire without the generated decoder.
 */

/** ResourceX in the request, Resource in ResourceX, ScopeX in ResourceX: 1, 1, 2. Scope in ScopeX: 1; records in ScopeX: 2. */
export const FIELD = {
  requestResources: 1,
  resource: 1,
  scopes: 2,
  scope: 1,
  records: 2,
  resourceAttributes: 1,
  scopeAttributes: 3,
  scopeName: 1,
  scopeVersion: 2,
  logSeverityNumber: 2,
  logSeverityText: 3,
  logBody: 5,
  logAttributes: 6,
  spanName: 5,
  spanKind: 6,
  spanAttributes: 9,
  metricName: 1,
  dataPoints: 1,
} as const;

/** What a record is; metrics records are data points of one of the Metric.data kinds. */
export const enum RecordKind {
  Log = 0,
  Span = 1,
  NumberPoint = 2,
  HistogramPoint = 3,
  ExponentialHistogramPoint = 4,
  SummaryPoint = 5,
}

/** Metric.data oneof field number -> [data point kind, attributes field of that point]. */
export const METRIC_DATA: Record<number, [RecordKind, number]> = {
  5: [RecordKind.NumberPoint, 7], // gauge
  7: [RecordKind.NumberPoint, 7], // sum
  9: [RecordKind.HistogramPoint, 9], // histogram
  10: [RecordKind.ExponentialHistogramPoint, 1], // exponential_histogram
  11: [RecordKind.SummaryPoint, 7], // summary
};

/** AnyValue oneof field numbers; 0 = no value set (pcommon's Empty). */
export const enum ValueType {
  Empty = 0,
  String = 1,
  Bool = 2,
  Int = 3,
  Double = 4,
  Array = 5,
  KvList = 6,
  Bytes = 7,
}
