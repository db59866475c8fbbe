/**
 * The message tables the validator (validate.ts) walks: for every message type of the OTLP Export requests,
 * what each field number must look like on the wire (its kind, sub-message, id length, name), built once
 * from the protobuf schema (proto/gen), plus the fast path's action per one-byte tag.
 */
import { ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import type { Signal } from '../core/signal.js';
import { REQUEST_SCHEMA } from './codec.js';

// What a known field must look like on the wire.
export const K_VARINT = 1;
export const K_I64 = 2;
export const K_I32 = 3;
export const K_BYTES = 4; // bytes (or a map entry)
export const K_MESSAGE = 5;
export const K_PACKED_VARINT = 6; // repeated varint scalar: packed or not
export const K_PACKED_I64 = 7;
export const K_PACKED_I32 = 8;
export const K_ID = 9; // trace_id / span_id: bytes of a fixed length, or empty
export const K_STRING = 10; // UTF-8 text

/** One message type's fields, by field number. */
export interface Table {
  readonly name: string;
  readonly kind: Uint8Array;
  readonly sub: Array<Table | undefined>;
  readonly idLength: Uint8Array;
  readonly fieldName: string[];
  /** A log record, span or metric data point: counted as one item. */
  readonly item: boolean;
  /**
   * What a one-byte tag (field 1-15) means here, looked up once instead of splitting the tag and checking
   * its wire type against the field's kind: A_* below; 0 = take the general path (unknown field, wrong
   * wire type, or a kind the fast path leaves to it).
   */
  readonly tagAction: Uint8Array;
}

// Fast-path actions of a one-byte tag (Table.tagAction).
export const A_VARINT = 1;
export const A_I64 = 2;
export const A_I32 = 3;
export const A_BYTES = 4;
export const A_STRING = 8; // length-delimited, then the UTF-8 check
export const A_MESSAGE = 5;
export const A_KEY_VALUE = 6;
export const A_ANY_VALUE = 7;
export const A_ID = 9; // length-delimited, Table.idLength bytes or empty

const ITEM_MESSAGES = new Set([
  'opentelemetry.proto.logs.v1.LogRecord',
  'opentelemetry.proto.trace.v1.Span',
  'opentelemetry.proto.metrics.v1.NumberDataPoint',
  'opentelemetry.proto.metrics.v1.HistogramDataPoint',
  'opentelemetry.proto.metrics.v1.ExponentialHistogramDataPoint',
  'opentelemetry.proto.metrics.v1.SummaryDataPoint',
]);
// pdata's TraceID/SpanID unmarshal: exactly these lengths, or empty.
const ID_LENGTH: Record<string, number> = { trace_id: 16, span_id: 8, parent_span_id: 8 };

function scalarKind(t: ScalarType): number {
  switch (t) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return K_I64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return K_I32;
    case ScalarType.STRING:
      return K_STRING;
    case ScalarType.BYTES:
      return K_BYTES;
    default:
      return K_VARINT;
  }
}

const tables = new Map<string, Table>();

function tableOf(desc: DescMessage): Table {
  const known = tables.get(desc.typeName);
  if (known) return known;
  const max = desc.fields.reduce((m, f) => Math.max(m, f.number), 0);
  const t: Table = {
    name: desc.name,
    kind: new Uint8Array(max + 1),
    sub: new Array<Table | undefined>(max + 1).fill(undefined),
    idLength: new Uint8Array(max + 1),
    fieldName: new Array<string>(max + 1).fill(''),
    item: ITEM_MESSAGES.has(desc.typeName),
    tagAction: new Uint8Array(128),
  };
  // Registered before its fields: AnyValue, ArrayValue and KeyValueList refer to each other.
  tables.set(desc.typeName, t);
  for (const f of desc.fields) fillField(t, f);
  return t;
}

/** Fills every table's tagAction once all tables exist (KEY_VALUE and ANY_VALUE are known by then). */
function fillTagActions(t: Table): void {
  for (let field = 1; field < 16 && field < t.kind.length; field++) {
    const k = t.kind[field]!;
    const sub = t.sub[field];
    if (k === K_VARINT || k === K_PACKED_VARINT) t.tagAction[(field << 3) | 0] = A_VARINT;
    if (k === K_I64 || k === K_PACKED_I64) t.tagAction[(field << 3) | 1] = A_I64;
    if (k === K_I32 || k === K_PACKED_I32) t.tagAction[(field << 3) | 5] = A_I32;
    if (k === K_BYTES) t.tagAction[(field << 3) | 2] = A_BYTES;
    if (k === K_STRING) t.tagAction[(field << 3) | 2] = A_STRING;
    if (k === K_MESSAGE) t.tagAction[(field << 3) | 2] = sub === KEY_VALUE ? A_KEY_VALUE : sub === ANY_VALUE ? A_ANY_VALUE : A_MESSAGE;
    if (k === K_ID) t.tagAction[(field << 3) | 2] = A_ID;
    // Packed fields (length-delimited) keep the general path: it checks their lengths.
  }
}

function fillField(t: Table, f: DescField): void {
  const n = f.number;
  t.fieldName[n] = f.name;
  switch (f.fieldKind) {
    case 'message':
      t.kind[n] = K_MESSAGE;
      t.sub[n] = tableOf(f.message);
      return;
    case 'enum':
      t.kind[n] = K_VARINT;
      return;
    case 'scalar':
      if (f.scalar === ScalarType.BYTES && ID_LENGTH[f.name] !== undefined) {
        t.kind[n] = K_ID;
        t.idLength[n] = ID_LENGTH[f.name]!;
      } else t.kind[n] = scalarKind(f.scalar);
      return;
    case 'list':
      if (f.listKind === 'message') {
        t.kind[n] = K_MESSAGE;
        t.sub[n] = tableOf(f.message);
      } else {
        const k = f.listKind === 'enum' ? K_VARINT : scalarKind(f.scalar);
        t.kind[n] = k === K_VARINT ? K_PACKED_VARINT : k === K_I64 ? K_PACKED_I64 : k === K_I32 ? K_PACKED_I32 : k;
      }
      return;
    case 'map':
      // OTLP has no map fields; a length-delimited entry is all that can be said of one.
      t.kind[n] = K_BYTES;
      return;
  }
}

export const REQUEST_TABLE: Record<Signal, Table> = {
  logs: tableOf(REQUEST_SCHEMA.logs as DescMessage),
  traces: tableOf(REQUEST_SCHEMA.traces as DescMessage),
  metrics: tableOf(REQUEST_SCHEMA.metrics as DescMessage),
};

// KeyValue and AnyValue hold most of a request's fields (every attribute, every body), so they have walks
// of their own; tables cover every other message. Their field numbers are checked against the schema in
// validate.test.ts.
export const KEY_VALUE: Table = tables.get('opentelemetry.proto.common.v1.KeyValue')!;
export const ANY_VALUE: Table = tables.get('opentelemetry.proto.common.v1.AnyValue')!;
for (const t of tables.values()) fillTagActions(t);

/** For tests: the message tables the walks use. */
export function validationTable(typeName: string): { kind: Uint8Array; sub: Array<{ name: string } | undefined>; fieldName: string[] } | undefined {
  return tables.get(typeName);
}
