/**
 * Pieces the load generator and the sink share: the attribute names that stamp each record, the acked-file
 * format, duration parsing for flags, and a tiny google.rpc.Status / RetryInfo codec (the tools do not
 * depend on the generated protobuf code, so they stay usable while it changes).
 */
import { parseDuration } from '../../core/schema.js';

/** Record attribute carrying the record's unique sequence number (int). */
export const SEQ_KEY = 'gophership.seq';
/** Resource attribute carrying the run id (string), so a sink can tell runs apart. */
export const RUN_KEY = 'gophership.run';

/** Half-open sequence ranges [start, end) acknowledged by the receiver, sorted and merged. */
export type SeqRanges = Array<[number, number]>;

/** What `loadgen --acked-file` writes and `sink --verify` reads. */
export interface AckedFile {
  runId: string;
  signal: string;
  acked: number;
  ackedRanges: SeqRanges;
}

/** Parses a duration flag: `10s`, `500ms`, `1m30s`, or a bare number of seconds. Throws naming the flag. */
export function parseDurationFlag(flag: string, text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const ms = parseDuration(t);
  if (ms === undefined) throw new Error(`--${flag}: expected a duration such as 500ms, 10s or 1m, got "${text}"`);
  return ms;
}

/** Parses a non-negative number flag; throws naming the flag. */
export function parseNumberFlag(flag: string, text: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
    throw new Error(`--${flag}: expected ${opts.integer ? 'an integer' : 'a number'}, got "${text}"`);
  }
  if (opts.min !== undefined && n < opts.min) throw new Error(`--${flag}: must be at least ${opts.min}, got ${text}`);
  if (opts.max !== undefined && n > opts.max) throw new Error(`--${flag}: must be at most ${opts.max}, got ${text}`);
  return n;
}

/** Splits `host:port` (or `[v6]:port`, or a URL) into its parts. */
export function parseHostPort(flag: string, text: string, defaultHost = '127.0.0.1'): { host: string; port: number } {
  let t = text.trim().replace(/^[a-z]+:\/\//i, '');
  t = t.replace(/\/.*$/, '');
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(t);
  if (!m) throw new Error(`--${flag}: expected host:port such as 127.0.0.1:4318, got "${text}"`);
  const host = m[1] ?? (m[2] || defaultHost);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`--${flag}: port ${port} is out of range`);
  return { host, port };
}

// ---- minimal protobuf helpers for google.rpc.Status (code=1, message=2, details=3 Any{type_url=1, value=2})

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function lenField(field: number, bytes: Uint8Array | number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

/** Encodes a google.rpc.Status, with a RetryInfo detail when retryDelayMs is given. */
export function encodeRpcStatus(code: number, message: string, retryDelayMs?: number): Buffer {
  const out: number[] = [];
  if (code !== 0) out.push(...varint(1 << 3), ...varint(code));
  if (message) out.push(...lenField(2, Buffer.from(message, 'utf8')));
  if (retryDelayMs !== undefined) {
    const seconds = Math.floor(retryDelayMs / 1000);
    const nanos = Math.round((retryDelayMs - seconds * 1000) * 1e6);
    const duration: number[] = [];
    if (seconds) duration.push(...varint(1 << 3), ...varint(seconds));
    if (nanos) duration.push(...varint(2 << 3), ...varint(nanos));
    const retryInfo = lenField(1, duration);
    const any = [...lenField(1, Buffer.from(RETRY_INFO_TYPE, 'latin1')), ...lenField(2, retryInfo)];
    out.push(...lenField(3, any));
  }
  return Buffer.from(out);
}

/** Minimal reader: fields of one message as (field, wireType, value|[start,end]) without allocation per field. */
function walk(buf: Uint8Array, start: number, end: number, visit: (field: number, wt: number, a: number, b: number) => void): boolean {
  let pos = start;
  const readVar = (): number => {
    let r = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new Error('truncated');
      const b = buf[pos++]!;
      r += (b & 0x7f) * mul;
      if (b < 0x80) return r;
      mul *= 128;
    }
    throw new Error('bad varint');
  };
  try {
    while (pos < end) {
      const tag = readVar();
      const field = Math.floor(tag / 8);
      const wt = tag & 7;
      if (wt === 0) visit(field, wt, readVar(), 0);
      else if (wt === 2) {
        const len = readVar();
        if (pos + len > end) return false;
        visit(field, wt, pos, pos + len);
        pos += len;
      } else if (wt === 1) pos += 8;
      else if (wt === 5) pos += 4;
      else return false;
    }
    return pos === end;
  } catch {
    return false;
  }
}

/** Decodes a google.rpc.Status; returns the RetryInfo delay when present. */
export function decodeRpcStatus(buf: Uint8Array): { code: number; message: string; retryDelayMs?: number } | undefined {
  let code = 0;
  let message = '';
  let retryDelayMs: number | undefined;
  const ok = walk(buf, 0, buf.length, (f, wt, a, b) => {
    if (f === 1 && wt === 0) code = a;
    else if (f === 2 && wt === 2) message = Buffer.from(buf.buffer, buf.byteOffset + a, b - a).toString('utf8');
    else if (f === 3 && wt === 2) {
      let typeUrl = '';
      let vs = 0;
      let ve = 0;
      walk(buf, a, b, (f2, wt2, a2, b2) => {
        if (f2 === 1 && wt2 === 2) typeUrl = Buffer.from(buf.buffer, buf.byteOffset + a2, b2 - a2).toString('latin1');
        else if (f2 === 2 && wt2 === 2) {
          vs = a2;
          ve = b2;
        }
      });
      if (typeUrl.endsWith('google.rpc.RetryInfo')) {
        walk(buf, vs, ve, (f3, wt3, a3, b3) => {
          if (f3 !== 1 || wt3 !== 2) return;
          let s = 0;
          let n = 0;
          walk(buf, a3, b3, (f4, wt4, v) => {
            if (f4 === 1 && wt4 === 0) s = v;
            else if (f4 === 2 && wt4 === 0) n = v;
          });
          retryDelayMs = s * 1000 + n / 1e6;
        });
      }
    }
  });
  if (!ok) return undefined;
  return retryDelayMs === undefined ? { code, message } : { code, message, retryDelayMs };
}

/** Reads partial_success.rejected_* (field 1 -> field 1) of an encoded Export*ServiceResponse; 0 when absent. */
export function decodeRejectedProto(buf: Uint8Array): { rejected: number; errorMessage: string } {
  let rejected = 0;
  let errorMessage = '';
  walk(buf, 0, buf.length, (f, wt, a, b) => {
    if (f !== 1 || wt !== 2) return;
    walk(buf, a, b, (f2, wt2, a2, b2) => {
      if (f2 === 1 && wt2 === 0) rejected = a2;
      else if (f2 === 2 && wt2 === 2) errorMessage = Buffer.from(buf.buffer, buf.byteOffset + a2, b2 - a2).toString('utf8');
    });
  });
  return { rejected, errorMessage };
}

/** gRPC status codes the tools use. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const;

/** The gRPC code matching an HTTP status, as the collector maps them (reverse of its mapping). */
export function grpcCodeForHttp(status: number): number {
  switch (status) {
    case 400:
      return GrpcCode.INVALID_ARGUMENT;
    case 429:
      return GrpcCode.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
    case 504:
      return GrpcCode.UNAVAILABLE;
    case 501:
    case 404:
      return GrpcCode.UNIMPLEMENTED;
    default:
      return GrpcCode.INTERNAL;
  }
}
