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

