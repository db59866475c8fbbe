/**
 * Conversions between OTLP encodings, on the generated protobuf-es messages in proto/gen.
 *
 * Protobuf is the gateway's internal form: JSON is read once at a receiver (requestFromJson) and written
 * only where a client or exporter asks for it (requestToJson). The OTLP/JSON reader is our own rather than
 * protobuf-es `fromJson`, because OTLP/JSON departs from the canonical proto3 mapping (hex trace/span ids)
 * and because a client deserves an error that names the exact field path at fault.
 */
import { create, fromBinary, toBinary, toJson, type DescEnum, type DescField, type DescMessage, type Message } from '@bufbuild/protobuf';
import { ScalarType } from '@bufbuild/protobuf';
import { anyPack, anyUnpack, DurationSchema } from '@bufbuild/protobuf/wkt';
import { configureTextEncoding, getTextEncoding } from '@bufbuild/protobuf/wire';
import type { Signal } from '../core/signal.js';
import {
  ExportLogsServiceRequestSchema,
  ExportLogsServiceResponseSchema,
  type ExportLogsServiceRequest,
} from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import {
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
  type ExportTraceServiceRequest,
} from '../../proto/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js';
import {
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
  type ExportMetricsServiceRequest,
} from '../../proto/gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js';
import { StatusSchema } from '../../proto/gen/google/rpc/status_pb.js';
import { RetryInfoSchema } from '../../proto/gen/google/rpc/error_details_pb.js';
import { CodedError } from '../core/errors.js';

/** The decoded Export request of each signal. */
export interface RequestBySignal {
  logs: ExportLogsServiceRequest;
  traces: ExportTraceServiceRequest;
  metrics: ExportMetricsServiceRequest;
}

/** ExportLogsServiceRequest | ExportTraceServiceRequest | ExportMetricsServiceRequest (generated types). */
export type RequestMessage = RequestBySignal[Signal];

/** The generated schema of each signal's Export request. */
export const REQUEST_SCHEMA = {
  logs: ExportLogsServiceRequestSchema,
  traces: ExportTraceServiceRequestSchema,
  metrics: ExportMetricsServiceRequestSchema,
} as const;

/** The generated schema of each signal's Export response. */
export const RESPONSE_SCHEMA = {
  logs: ExportLogsServiceResponseSchema,
  traces: ExportTraceServiceResponseSchema,
  metrics: ExportMetricsServiceResponseSchema,
} as const;

/** The int64 count field of each signal's partial success. */
const REJECTED_FIELD = { logs: 'rejectedLogRecords', traces: 'rejectedSpans', metrics: 'rejectedDataPoints' } as const;

/** type_url of a RetryInfo packed into google.rpc.Status.details. */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** An OTLP/JSON request the gateway cannot read; the message names the field path at fault. */
export class OtlpJsonError extends CodedError {
  override readonly name = 'OtlpJsonError';
  /** Path of the offending value, e.g. `resourceLogs[0].scopeLogs[0].logRecords[3].timeUnixNano` ('' = whole body). */
  readonly path: string;
  constructor(path: string, problem: string) {
    super('GS_REQUEST_MALFORMED', path === '' ? `invalid OTLP/JSON request: ${problem}` : `invalid OTLP/JSON request: field ${path}: ${problem}`);
    this.path = path;
  }
}

// Invalid UTF-8 in a string field decodes to U+FFFD instead of failing the decode. The gateway forwards
// such bytes untouched (so does the collector: pdata does not check UTF-8), and a stage that must decode
// them (OTLP/JSON output, a decoding processor) should not turn one odd byte into a permanent failure of
// the request, or of a whole batch. (protobuf-es checks proto3 strings by default.)
{
  const encoding = getTextEncoding();
  configureTextEncoding({ ...encoding, decodeUtf8: (bytes: Uint8Array) => encoding.decodeUtf8(bytes, false) });
}

/**
 * Message nesting the gateway takes, in protobuf and OTLP/JSON alike (AnyValue arrays and kvlists nest:
 * two levels each). The receiver refuses deeper requests (400) rather than let a later stage fail on them.
 */
export const MAX_NESTING = 100;

/** Decodes an encoded Export request of `signal`. Throws on malformed bytes. Unknown fields are kept. */
export function decodeRequest<S extends Signal>(signal: S, bytes: Uint8Array): RequestBySignal[S];
export function decodeRequest(signal: Signal, bytes: Uint8Array): RequestMessage {
  return fromBinary(REQUEST_SCHEMA[signal] as DescMessage, bytes, { recursionLimit: MAX_NESTING }) as RequestMessage;
}

/** Encodes a decoded Export request. */
export function encodeRequest(signal: Signal, message: RequestMessage): Uint8Array {
  return toBinary(REQUEST_SCHEMA[signal] as DescMessage, message);
}

export type Encoding = 'proto' | 'json';

/**
 * Parses an OTLP/JSON Export request (spec rules: hex trace/span ids, int64 as string or number, integer
 * enums, lowerCamelCase keys, unknown fields ignored) and returns it encoded as protobuf.
 * Throws OtlpJsonError whose message names the field at fault.
 */
export function requestFromJson(signal: Signal, text: string): Uint8Array {
  return encodeRequest(signal, parseRequestJson(signal, text));
}

/** Like requestFromJson, but returns the decoded message. Throws OtlpJsonError. */
export function parseRequestJson<S extends Signal>(signal: S, text: string): RequestBySignal[S];
export function parseRequestJson(signal: Signal, text: string): RequestMessage {
  let json: unknown;
  try {
    json = JSON.parse(quoteLongIntegers(text));
  } catch (err) {
    throw new OtlpJsonError('', `body is not valid JSON (${(err as Error).message})`);
  }
  return readMessage(REQUEST_SCHEMA[signal] as DescMessage, json, '') as RequestMessage;
}

/** What a lenient JSON parse left out: records that could not be read, and why (the first reason). */
export interface JsonRejections {
  rejected: number;
  errorMessage: string;
}

/**
 * Like requestFromJson, but a log record, span or metric that cannot be read is left out and counted
 * instead of failing the whole request, so the receiver can accept the rest and answer with
 * partial_success (rejected_log_records / rejected_spans / rejected_data_points). A fault above the
 * record level (resource, scope, the JSON itself) still throws OtlpJsonError.
 */
export function requestFromJsonPartial(signal: Signal, text: string): { bytes: Uint8Array; rejections: JsonRejections } {
  let json: unknown;
  try {
    json = JSON.parse(quoteLongIntegers(text));
  } catch (err) {
    throw new OtlpJsonError('', `body is not valid JSON (${(err as Error).message})`);
  }
  const rejections: JsonRejections = { rejected: 0, errorMessage: '' };
  const message = readMessage(REQUEST_SCHEMA[signal] as DescMessage, json, '', rejections) as RequestMessage;
  return { bytes: encodeRequest(signal, message), rejections };
}

/** The record-level messages a lenient parse may leave out, and how many items each one counts for. */
const RECORD_TYPES: Readonly<Record<string, (json: unknown) => number>> = {
  'opentelemetry.proto.logs.v1.LogRecord': () => 1,
  'opentelemetry.proto.trace.v1.Span': () => 1,
  // A metric counts as its data points, as rejected_data_points does; one that shows none (its data is
  // not an object, say) still counts 1, so its rejection is reported rather than lost.
  'opentelemetry.proto.metrics.v1.Metric': (json) => {
    if (!isObject(json)) return 1;
    let n = 0;
    for (const key of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
      const data = json[key];
      if (isObject(data) && Array.isArray(data.dataPoints)) n += data.dataPoints.length;
    }
    return Math.max(n, 1);
  },
};

/** Renders an encoded Export request as OTLP/JSON (hex ids, int64 as decimal strings). */
export function requestToJson(signal: Signal, bytes: Uint8Array): string {
  return JSON.stringify(requestMessageToJson(signal, decodeRequest(signal, bytes)));
}

/** Renders a decoded Export request as an OTLP/JSON value (not yet stringified). */
export function requestMessageToJson(signal: Signal, message: RequestMessage): unknown {
  const json = toJson(REQUEST_SCHEMA[signal] as DescMessage, message, { enumAsInteger: true });
  idsToHex(json);
  return json;
}

/** An Export*ServiceResponse, with partial_success only when something was rejected. */
export function encodeExportResponse(signal: Signal, encoding: Encoding, partial?: { rejected: number; errorMessage: string }): Uint8Array {
  const schema = RESPONSE_SCHEMA[signal] as DescMessage;
  const init: Record<string, unknown> = {};
  if (partial && (partial.rejected > 0 || partial.errorMessage !== '')) {
    init['partialSuccess'] = { [REJECTED_FIELD[signal]]: BigInt(Math.max(0, Math.trunc(partial.rejected))), errorMessage: partial.errorMessage };
  }
  const msg = create(schema, init as never);
  if (encoding === 'proto') return toBinary(schema, msg);
  return utf8(JSON.stringify(toJson(schema, msg, { enumAsInteger: true })));
}

/** Reads the partial_success of an Export*ServiceResponse; undefined when absent, empty or unreadable. */
export function decodeExportResponsePartial(signal: Signal, encoding: Encoding, bytes: Uint8Array): { rejected: number; errorMessage: string } | undefined {
  let rejected: number;
  let errorMessage: string;
  if (encoding === 'proto') {
    let msg: Record<string, unknown>;
    try {
      msg = fromBinary(RESPONSE_SCHEMA[signal] as DescMessage, bytes) as unknown as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const ps = msg['partialSuccess'] as Record<string, unknown> | undefined;
    if (!ps) return undefined;
    rejected = Number(ps[REJECTED_FIELD[signal]] as bigint);
    errorMessage = ps['errorMessage'] as string;
  } else {
    // Read leniently: a body we cannot parse must not turn an accepted export into a failure.
    const body = parseJsonObject(bytes);
    const ps = body?.['partialSuccess'];
    if (!isObject(ps)) return undefined;
    const r = ps[REJECTED_FIELD[signal]];
    rejected = typeof r === 'number' ? r : typeof r === 'string' && /^-?\d+$/.test(r) ? Number(r) : 0;
    errorMessage = typeof ps['errorMessage'] === 'string' ? ps['errorMessage'] : '';
  }
  if (rejected === 0 && errorMessage === '') return undefined;
  return { rejected, errorMessage };
}

/** A google.rpc.Status (with a google.rpc.RetryInfo detail when retryDelayMs is given). */
export function encodeStatus(encoding: Encoding, code: number, message: string, retryDelayMs?: number): Uint8Array {
  const status = create(StatusSchema, { code, message });
  if (retryDelayMs !== undefined && Number.isFinite(retryDelayMs) && retryDelayMs >= 0) {
    const ms = Math.round(retryDelayMs);
    const retryDelay = create(DurationSchema, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
    status.details.push(anyPack(RetryInfoSchema, create(RetryInfoSchema, { retryDelay })));
  }
  if (encoding === 'proto') return toBinary(StatusSchema, status);
  // Written by hand: the JSON form of the packed Any is {"@type": ..., "retryDelay": "1.5s"}, and
  // protobuf-es would need a registry and print "1.500s".
  const json: Record<string, unknown> = { code, message };
  if (status.details.length > 0) json['details'] = [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: formatDurationMs(Math.round(retryDelayMs!)) }];
  return utf8(JSON.stringify(json));
}

/** Reads a google.rpc.Status (protobuf or JSON); undefined when the bytes are not one. */
export function decodeStatus(encoding: Encoding, bytes: Uint8Array): { code: number; message: string; retryDelayMs?: number } | undefined {
  if (bytes.length === 0) return undefined;
  if (encoding === 'proto') {
    let status;
    try {
      status = fromBinary(StatusSchema, bytes);
    } catch {
      return undefined;
    }
    const out: { code: number; message: string; retryDelayMs?: number } = { code: status.code, message: status.message };
    for (const any of status.details) {
      if (any.typeUrl !== RETRY_INFO_TYPE_URL) continue;
      let info;
      try {
        info = anyUnpack(any, RetryInfoSchema);
      } catch {
        continue;
      }
      if (info?.retryDelay) out.retryDelayMs = Number(info.retryDelay.seconds) * 1000 + Math.round(info.retryDelay.nanos / 1_000_000);
      break;
    }
    return out;
  }
  const body = parseJsonObject(bytes);
  if (!body) return undefined;
  const code = body['code'];
  const message = body['message'];
  if (code !== undefined && typeof code !== 'number') return undefined;
  if (message !== undefined && typeof message !== 'string') return undefined;
  if (code === undefined && message === undefined) return undefined;
  const out: { code: number; message: string; retryDelayMs?: number } = { code: code ?? 0, message: message ?? '' };
  const details = body['details'];
  if (Array.isArray(details)) {
    for (const d of details) {
      if (!isObject(d) || d['@type'] !== RETRY_INFO_TYPE_URL) continue;
      const ms = parseDurationMs(d['retryDelay']);
      if (ms !== undefined) out.retryDelayMs = ms;
      break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// OTLP/JSON reading

/** Bytes fields OTLP/JSON writes as hex, by proto field name, with their required byte length. */
const HEX_ID_BYTES: Readonly<Record<string, number>> = { trace_id: 16, span_id: 8, parent_span_id: 8 };
/** The same fields by JSON key, for the writer. */
const HEX_ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** Per-message lookup of fields by JSON name and by proto name (both are accepted, as the collector does). */
const fieldIndex = new WeakMap<DescMessage, Map<string, DescField>>();
function fieldsByKey(desc: DescMessage): Map<string, DescField> {
  let m = fieldIndex.get(desc);
  if (!m) {
    m = new Map();
    for (const f of desc.fields) {
      m.set(f.jsonName, f);
      m.set(f.name, f);
    }
    fieldIndex.set(desc, m);
  }
  return m;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}

function readMessage(desc: DescMessage, json: unknown, path: string, rejections?: JsonRejections, depth = 1): Message {
  if (!isObject(json)) throw new OtlpJsonError(path, `expected an object (${desc.name}), got ${describe(json)}`);
  if (depth > MAX_NESTING) throw new OtlpJsonError(path, `messages nested deeper than ${MAX_NESTING} levels`);
  const msg = create(desc) as unknown as Record<string, unknown>;
  const fields = fieldsByKey(desc);
  for (const key in json) {
    const field = fields.get(key);
    if (field === undefined) continue; // unknown fields are ignored (OTLP/JSON rule)
    const raw = json[key];
    if (raw === null) continue; // proto3 JSON: null means the default
    const p = path === '' ? key : `${path}.${key}`;
    let value: unknown;
    switch (field.fieldKind) {
      case 'scalar':
        value = readScalar(field.scalar, field.name, raw, p);
        break;
      case 'enum':
        value = readEnum(field.enum, raw, p);
        break;
      case 'message':
        value = readMessage(field.message, raw, p, rejections, depth + 1);
        break;
      case 'list': {
        if (!Array.isArray(raw)) throw new OtlpJsonError(p, `expected an array, got ${describe(raw)}`);
        const itemsOf = rejections && field.listKind === 'message' ? RECORD_TYPES[field.message.typeName] : undefined;
        const out: unknown[] = [];
        for (let i = 0; i < raw.length; i++) {
          const ip = `${p}[${i}]`;
          const el = raw[i];
          if (itemsOf) {
            try {
              out.push(readMessage((field as { message: DescMessage }).message, el, ip, undefined, depth + 1));
            } catch (err) {
              if (!(err instanceof OtlpJsonError)) throw err;
              rejections!.rejected += itemsOf(el);
              rejections!.errorMessage ||= err.message;
            }
          } else if (field.listKind === 'message') out.push(readMessage(field.message, el, ip, rejections, depth + 1));
          else if (field.listKind === 'enum') out.push(readEnum(field.enum, el, ip));
          else out.push(readScalar(field.scalar, field.name, el, ip));
        }
        value = out;
        break;
      }
      case 'map':
        // OTLP has no map fields; a future one is skipped like an unknown field.
        continue;
    }
    if (field.oneof) {
      const current = msg[field.oneof.localName] as { case: string | undefined };
      if (current.case !== undefined && current.case !== field.localName) {
        throw new OtlpJsonError(p, `only one of the "${field.oneof.name}" fields may be set, but ${current.case} is set too`);
      }
      msg[field.oneof.localName] = { case: field.localName, value };
    } else {
      msg[field.localName] = value;
    }
  }
  return msg as unknown as Message;
}

function readEnum(desc: DescEnum, raw: unknown, path: string): number {
  if (typeof raw === 'number') {
    if (Number.isInteger(raw) && raw >= -0x80000000 && raw <= 0x7fffffff) return raw;
  } else if (typeof raw === 'string') {
    // OTLP writes enums as integers; accepting the value names too costs nothing and matches proto3 JSON.
    const v = desc.values.find((e) => e.name === raw);
    if (v) return v.number;
  }
  throw new OtlpJsonError(path, `expected an integer ${desc.name} value, got ${describe(raw)}`);
}

const INT_RE = /^-?\d+$/;
const UINT_RE = /^\d+$/;
const BASE64_RE = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const HEX_RE = /^[0-9a-fA-F]*$/;
const MAX_U64 = (1n << 64n) - 1n;
const MIN_I64 = -(1n << 63n);
const MAX_I64 = (1n << 63n) - 1n;

function readScalar(type: ScalarType, protoName: string, raw: unknown, path: string): unknown {
  switch (type) {
    case ScalarType.STRING:
      if (typeof raw === 'string') return raw;
      throw new OtlpJsonError(path, `expected a string, got ${describe(raw)}`);
    case ScalarType.BOOL:
      if (typeof raw === 'boolean') return raw;
      throw new OtlpJsonError(path, `expected true or false, got ${describe(raw)}`);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT: {
      let n: number | undefined;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string') {
        if (raw === 'NaN') return NaN;
        if (raw === 'Infinity') return Infinity;
        if (raw === '-Infinity') return -Infinity;
        if (raw.trim() === raw && raw !== '' && !Number.isNaN(Number(raw))) n = Number(raw);
      }
      if (n === undefined) throw new OtlpJsonError(path, `expected a number, got ${describe(raw)}`);
      // A literal past the type's range (1e400) is an error, as in protojson; infinities are written as strings.
      const max = type === ScalarType.FLOAT ? 3.4028234663852886e38 : Number.MAX_VALUE;
      if (!Number.isFinite(n) || Math.abs(n) > max) {
        throw new OtlpJsonError(
          path,
          `${describe(raw)} is out of range for a ${type === ScalarType.FLOAT ? 'float' : 'double'} (write "Infinity" or "-Infinity" for an infinite value)`,
        );
      }
      return n;
    }
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return readInt32(raw, path, -0x80000000, 0x7fffffff);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return readInt32(raw, path, 0, 0xffffffff);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return readInt64(raw, path, MIN_I64, MAX_I64);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return readInt64(raw, path, 0n, MAX_U64);
    case ScalarType.BYTES: {
      if (typeof raw !== 'string') throw new OtlpJsonError(path, `expected a ${HEX_ID_BYTES[protoName] ? 'hex' : 'base64'} string, got ${describe(raw)}`);
      const idLen = HEX_ID_BYTES[protoName];
      if (idLen !== undefined) {
        if (raw === '') return new Uint8Array(0);
        if (raw.length !== idLen * 2 || !HEX_RE.test(raw)) {
          throw new OtlpJsonError(path, `expected ${idLen * 2} hex digits (a ${idLen}-byte id; OTLP/JSON ids are hex, not base64), got ${describe(raw)}`);
        }
        return Buffer.from(raw, 'hex');
      }
      if (!BASE64_RE.test(raw)) throw new OtlpJsonError(path, `expected a base64 string, got ${describe(raw)}`);
      return Buffer.from(raw, raw.includes('-') || raw.includes('_') ? 'base64url' : 'base64');
    }
  }
  throw new OtlpJsonError(path, `unsupported field type`);
}

function readInt32(raw: unknown, path: string, min: number, max: number): number {
  let n: number | undefined;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && INT_RE.test(raw)) n = Number(raw);
  if (n !== undefined && Number.isInteger(n) && n >= min && n <= max) return n;
  throw new OtlpJsonError(path, `expected an integer from ${min} to ${max}, got ${describe(raw)}`);
}

function readInt64(raw: unknown, path: string, min: bigint, max: bigint): bigint {
  let n: bigint | undefined;
  // Integer literals too long for a double were quoted before JSON.parse, so a number here is exact.
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) n = BigInt(raw);
  else if (typeof raw === 'string' && (min < 0n ? INT_RE : UINT_RE).test(raw)) n = BigInt(raw);
  if (n !== undefined && n >= min && n <= max) return n;
  throw new OtlpJsonError(path, `expected ${min < 0n ? 'a' : 'a non-negative'} 64-bit integer (decimal string or number), got ${describe(raw)}`);
}

/**
 * Wraps integer literals of 16+ digits in quotes so JSON.parse keeps them exact (doubles hold 15-16
 * significant digits; OTLP nanosecond timestamps have 19). Skips string literals; other text is untouched.
 */
export function quoteLongIntegers(text: string): string {
  if (!/\d{16}/.test(text)) return text; // common case: nothing to do, no copy
  const parts: string[] = [];
  let last = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      let digits = c === 0x2d ? 0 : 1;
      let integer = true;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d >= 0x30 && d <= 0x39) digits++;
        else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) integer = false;
        else break;
        i++;
      }
      // A leading zero (`007`) is not JSON: left as it is, for JSON.parse to refuse, not quoted into a string.
      const first = c === 0x2d ? start + 1 : start;
      const leadingZero = text.charCodeAt(first) === 0x30 && i - first > 1;
      if (integer && digits >= 16 && !leadingZero) {
        parts.push(text.slice(last, start), '"', text.slice(start, i), '"');
        last = i;
      }
      continue;
    }
    i++;
  }
  if (last === 0) return text;
  parts.push(text.slice(last));
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------------------
// OTLP/JSON writing helpers

/** Rewrites base64 trace/span ids (protobuf-es canonical JSON) as lower-case hex, in place. */
function idsToHex(v: unknown): void {
  if (Array.isArray(v)) {
    for (const el of v) if (typeof el === 'object' && el !== null) idsToHex(el);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Record<string, unknown>;
  for (const key in o) {
    const val = o[key];
    if (typeof val === 'string') {
      if (HEX_ID_KEYS.has(key)) o[key] = Buffer.from(val, 'base64').toString('hex');
    } else if (typeof val === 'object' && val !== null) {
      idsToHex(val);
    }
  }
}

function utf8(s: string): Uint8Array {
  return Buffer.from(s, 'utf8');
}

/** Formats milliseconds as a google.protobuf.Duration JSON string with no trailing zeros ("1.5s", "2s"). */
function formatDurationMs(ms: number): string {
  const secs = Math.floor(ms / 1000);
  const rest = ms % 1000;
  return rest === 0 ? `${secs}s` : `${secs}.${String(rest).padStart(3, '0').replace(/0+$/, '')}s`;
}

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a google.protobuf.Duration JSON string such as "1.5s" into milliseconds. */
function parseDurationMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(v);
  if (!m) return undefined;
  const frac = m[2] ? Number(m[2].padEnd(9, '0')) / 1_000_000 : 0;
  const secs = Number(m[1]);
  return Math.round(secs * 1000 + (m[1]!.startsWith('-') ? -frac : frac));
}
