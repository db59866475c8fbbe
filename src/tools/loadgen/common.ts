/**
 * Pieces the load generator and the sink share: the attribute names that stamp each record, the acked-file
 * format, duration parsing for flags and their commands' output streams.
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

/** Where a tool command writes (its tests capture it). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether live progress may be drawn (stderr is a TTY). */
  tty: boolean;
}

/** The process's stdout and stderr. */
export const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  tty: Boolean(process.stderr.isTTY),
};
