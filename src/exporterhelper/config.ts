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

export type Sizer = 'requests' | 'items' | 'bytes';
export type QueueStorage = 'memory' | 'wal';

function queueRule(
  v: {
    enabled: boolean;
    storage: string;
    directory: string;
    sizer: Sizer;
    queue_size: number;
    wait_for_result: boolean;
    batch?: { sizer?: string; min_size: number; max_size: number; flush_timeout: number };
  },
  path: string[],
  issues: ConfigIssue[],
): void {
  if (v.storage !== 'memory' && v.storage !== 'wal') {
    issues.push({
      path: [...path, 'storage'],
      message: `"${v.storage}": a storage extension is not supported yet by GopherShip (the collector keeps a persistent queue in the named storage extension); use storage: wal with sending_queue.directory, GopherShip's own write-ahead log`,
    });
    return;
  }
  if (v.enabled && v.storage === 'wal' && v.directory === '') {
    issues.push({
      path: [...path, 'directory'],
      message: 'is required when storage is wal: name a directory for the write-ahead log (each exporter uses its own subdirectory)',
    });
  }
  if (v.wait_for_result && v.storage === 'wal') {
    issues.push({
      path: [...path, 'wait_for_result'],
      message: 'is not supported with storage: wal (as the collector refuses it with a persistent queue): a WAL queue answers once the request is durable',
    });
  }
  const b = v.batch;
  if (b) {
    if (b.sizer === 'requests')
      issues.push({ path: [...path, 'batch', 'sizer'], message: 'batch supports only the items or bytes sizer (as the collector), got requests' });
    if (b.flush_timeout <= 0) issues.push({ path: [...path, 'batch', 'flush_timeout'], message: `must be greater than 0, got ${b.flush_timeout}ms` });
    if (b.max_size > 0 && b.max_size < b.min_size)
      issues.push({ path: [...path, 'batch', 'max_size'], message: `(${b.max_size}) must be 0 (no limit) or at least min_size (${b.min_size})` });
    if (batchSizer(v) === v.sizer && b.min_size > v.queue_size) {
      issues.push({
        path: [...path, 'batch', 'min_size'],
        message: `(${b.min_size}) must be less than or equal to queue_size (${v.queue_size}), or the queue could never hold a batch`,
      });
    }
  }
}

/** The batch's sizer: its own, else the queue's when that is items or bytes, else items (as the collector). */
export function batchSizer(v: { sizer: Sizer; batch?: { sizer?: string } }): 'items' | 'bytes' {
  const own = v.batch?.sizer;
  if (own === 'items' || own === 'bytes') return own;
  return v.sizer === 'bytes' ? 'bytes' : 'items';
}

function sendingQueueSchema(enabled: boolean) {
  const shape = s.object({
    enabled: s
      .bool()
      .default(enabled)
      .describe('Queue requests and answer upstream on enqueue; false sends synchronously (with retries) and answers when downstream accepted'),
    num_consumers: s.int(1, 1000).default(10).describe('Requests (or batches) sent concurrently from the queue'),
    sizer: s
      .enum('requests', 'items', 'bytes')
      .default('requests')
      .describe('Unit of queue_size and of the batch sizes: requests as received, items (log records, spans, data points) or bytes of the encoded requests'),
    queue_size: s
      .int(1)
      .default(1000)
      .describe(
        "Most the queue holds, in the sizer's unit (memory: waiting, not yet taken by a consumer; wal: not yet acknowledged by the downstream); when full, new requests are refused retryably (503 / UNAVAILABLE with Retry-After) or wait (block_on_overflow)",
      ),
    block_on_overflow: s.bool().default(false).describe('When the queue is full, hold the request until there is room instead of refusing it'),
    blocking: s.bool().describe("The collector's earlier name of block_on_overflow; true holds requests as block_on_overflow: true does"),
    wait_for_result: s
      .bool()
      .default(false)
      .describe('storage memory: answer upstream once the downstream accepted the request (queued and sent by the consumers), not on enqueue'),
    batch: s
      .presence(
        s.object({
          flush_timeout: s.duration().default(200).describe('Send a batch this long after its first request arrived, whatever its size'),
          min_size: s.int(0).default(8192).describe("Send a batch once it holds this much (in the batch sizer's unit)"),
          max_size: s.int(0).default(0).describe('Largest batch (0 = no limit); a single request larger than this is sent alone, not split'),
          sizer: s
            .enum('requests', 'items', 'bytes')
            .describe("Unit of min_size and max_size: items or bytes (default: the queue's sizer when that is items or bytes, else items)"),
        }),
      )
      .describe('Join queued requests of one signal into batches before sending (byte joining: no decode); absent = each request is sent as it is'),
    storage: s
      .string()
      .default('memory')
      .describe(
        'memory: lost on crash (undelivered requests are kept at shutdown: in directory, else dead_letter.path, else ./data/sending_queue); wal: durably appended to a write-ahead log on disk before upstream is answered, resent after restart',
      ),
    directory: s
      .string()
      .default('')
      .describe(
        'Directory of the WAL (storage: wal; memory: where requests still undelivered at the shutdown deadline are kept and resent from at the next start; empty with no dead_letter.path: ./data/sending_queue under the working directory); the exporter uses <directory>/<exporter id>',
      ),
    max_size_mib: s.int(1).default(1024).describe('Disk budget of the WAL in MiB; when full, new requests are refused retryably'),
    fsync: s
      .enum('always', 'interval', 'never')
      .default('interval')
      .describe('always: fdatasync before answering; interval: group commit every 10 ms, or sooner once 1 MiB was written; never: leave it to the OS'),
    direct_io: s
      .bool()
      .default(true)
      .describe(
        'storage: wal: write segments with O_DIRECT, bypassing the page cache; false, or a file system that refuses direct I/O, writes through the page cache',
      ),
  });
  // `blocking` (older collector configs) is block_on_overflow under its earlier name.
  const aliased = s.transform(shape, (v) => (v.blocking === true ? { ...v, block_on_overflow: true } : v));
  return s.refine(aliased, queueRule);
}

function retrySchema(enabled: boolean) {
  return s.object({
    enabled: s.bool().default(enabled).describe('Retry retryable failures with exponential backoff'),
    initial_interval: s.duration().default(5000).describe('First wait after a failure'),
    randomization_factor: s.number(0, 1).default(0.5).describe('Each wait is drawn from [interval*(1-f), interval*(1+f)]'),
    multiplier: s.number(1).default(1.5).describe('Growth of the interval after each retry'),
    max_interval: s.duration().default(30_000).describe('Upper bound of the interval'),
    max_elapsed_time: s
      .duration()
      .default(300_000)
      .describe('Give up after this long since the first attempt (0 = never); a WAL queue gives up only into a dead_letter file'),
  });
}

/** The shared keys, to spread into an exporter's config object. */
export function exporterHelperShape(defaults: ExporterHelperDefaults = {}) {
  return {
    sending_queue: sendingQueueSchema(defaults.queueEnabled ?? true),
    retry_on_failure: retrySchema(defaults.retryEnabled ?? true),
    dead_letter: s.object({
      path: s
        .string()
        .default('')
        .describe('File receiving requests that failed permanently or ran out of retries (length-prefixed protobuf with the signal); empty = log and drop'),
    }),
  };
}

const _sample = s.object(exporterHelperShape());
export type ExporterHelperConfig = ConfigOf<typeof _sample>;
export type SendingQueueConfig = Omit<ExporterHelperConfig['sending_queue'], 'storage'> & { storage: QueueStorage };
export type RetryConfig = ExporterHelperConfig['retry_on_failure'];

/** The shared keys with their defaults (for code that builds a helper without parsing a config). */
export function exporterHelperDefaults(defaults: ExporterHelperDefaults = {}): ExporterHelperConfig {
  return s.object(exporterHelperShape(defaults)).defaults();
}
