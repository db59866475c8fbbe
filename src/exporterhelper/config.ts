/**
 * The config keys every queued exporter shares, after the collector's exporterhelper: `sending_queue`,
 * `retry_on_failure` and `dead_letter`. An exporter spreads `exporterHelperShape()` into its own
 * `s.object({...})`, so the keys, defaults, validation and reference docs are defined once here.
 */
import { s, type ConfigIssue, type ConfigOf } from '../core/schema.js';

export interface ExporterHelperDefaults {
  /** `sending_queue.enabled` default (true for network exporters; false for local ones such as file). */
  queueEnabled?: boolean;
  /** `retry_on_failure.enabled` default. */
  retryEnabled?: boolean;
}

function queueRule(v: { enabled: boolean; storage: string; directory: string }, path: string[], issues: ConfigIssue[]): void {
  if (v.enabled && v.storage === 'wal' && v.directory === '') {
    issues.push({ path: [...path, 'directory'], message: 'is required when storage is wal: name a directory for the write-ahead log (each exporter uses its own subdirectory)' });
  }
}

function sendingQueueSchema(enabled: boolean) {
  return s.refine(
    s.object({
      enabled: s.bool().default(enabled).describe('Queue requests and answer upstream on enqueue; false sends synchronously (with retries) and answers when downstream accepted'),
      num_consumers: s.int(1, 1000).default(10).describe('Requests sent concurrently from the queue'),
      queue_size: s.int(1).default(1000).describe('Most requests waiting in the queue; a full queue refuses new ones retryably (503 / UNAVAILABLE with Retry-After)'),
      storage: s.enum('memory', 'wal').default('memory').describe('memory: lost on crash; wal: durably appended to a write-ahead log on disk before upstream is answered, resent after restart'),
      directory: s.string().default('').describe('Directory of the WAL (storage: wal); the exporter uses <directory>/<exporter id>'),
      max_size_mib: s.int(1).default(1024).describe('Disk budget of the WAL in MiB; when full, new requests are refused retryably'),
      fsync: s.enum('always', 'interval', 'never').default('interval').describe('always: fdatasync before answering; interval: group commit every 10 ms, or sooner once 1 MiB was written; never: leave it to the OS'),
      direct_io: s.bool().default(true).describe('storage: wal: write segments with O_DIRECT, bypassing the page cache; false, or a file system that refuses direct I/O, writes through the page cache'),
    }),
    queueRule,
  );
}

function retrySchema(enabled: boolean) {
  return s.object({
    enabled: s.bool().default(enabled).describe('Retry retryable failures with exponential backoff'),
    initial_interval: s.duration().default(5000).describe('First wait after a failure'),
    randomization_factor: s.number(0, 1).default(0.5).describe('Each wait is drawn from [interval*(1-f), interval*(1+f)]'),
    multiplier: s.number(1).default(1.5).describe('Growth of the interval after each retry'),
    max_interval: s.duration().default(30_000).describe('Upper bound of the interval'),
    max_elapsed_time: s.duration().default(300_000).describe('Give up after this long since the first attempt (0 = never); a WAL queue gives up only into a dead_letter file'),
  });
}

/** The shared keys, to spread into an exporter's config object. */
export function exporterHelperShape(defaults: ExporterHelperDefaults = {}) {
  return {
    sending_queue: sendingQueueSchema(defaults.queueEnabled ?? true),
    retry_on_failure: retrySchema(defaults.retryEnabled ?? true),
    dead_letter: s.object({
      path: s.string().default('').describe('File receiving requests that failed permanently or ran out of retries (length-prefixed protobuf with the signal); empty = log and drop'),
    }),
  };
}

const sample = s.object(exporterHelperShape());
export type ExporterHelperConfig = ConfigOf<typeof sample>;
export type SendingQueueConfig = ExporterHelperConfig['sending_queue'];
export type RetryConfig = ExporterHelperConfig['retry_on_failure'];

/** The shared keys with their defaults (for code that builds a helper without parsing a config). */
export function exporterHelperDefaults(defaults: ExporterHelperDefaults = {}): ExporterHelperConfig {
  return s.object(exporterHelperShape(defaults)).defaults();
}
