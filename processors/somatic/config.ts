import { s, type ConfigOf } from '../../src/core/schema.js';
import { DEFAULT_THRESHOLDS, type ThresholdKey } from '../../src/somatic/runtime.js';

function pair(key: ThresholdKey, unit: string) {
  const d = DEFAULT_THRESHOLDS[key];
  return s.object({
    yellow: s.number(0).default(d.yellow).describe(`Enter Yellow at this ${unit} (0 = this sensor never causes Yellow)`),
    red: s.number(0).default(d.red).describe(`Enter Red at this ${unit} (0 = this sensor never causes Red)`),
  });
}

export const somaticProcessorConfig = s.refine(
  s.object({
    memory_limit_mib: s.int(16).default(512).describe('Memory the gateway process may use (RSS); the zones and the admission gate keep it under this'),
    inflight_budget_mib: s
      .int(0)
      .default(0)
      .describe(
        'Request bytes admitted and not yet answered, at most (0 = a quarter of memory_limit_mib); a request that does not fit is refused before its body is read',
      ),
    admit_memory_ratio: s.number(0.1, 1).default(0.9).describe('The admission gate refuses requests that would take RSS past this share of memory_limit_mib'),
    check_interval: s.duration().default(100).describe('How often the sensors are read and the zone recomputed'),
    min_dwell: s
      .duration()
      .default(2000)
      .describe(
        'Shortest stay in a zone before it may fall to a lower one (rising is never delayed); doubled, up to 16x, after each fall the zone came straight back from',
      ),
    leave_ratio: s.number(0.05, 1).default(0.8).describe('A sensor lets a zone go only below enter threshold x leave_ratio (hysteresis)'),
    fall_intake_ratio: s
      .number(0.05, 1)
      .default(0.7)
      .describe('A zone falls only when the intake rate is below this share of the rate the lower zone saturated at'),
    thresholds: s
      .object({
        heap: pair('heap', 'share of memory_limit_mib (V8 heap used + external memory such as Buffers)'),
        rss: pair('rss', 'share of memory_limit_mib (resident set size)'),
        inflight: pair('inflight', 'share of the in-flight budget'),
        event_loop_delay: pair('event_loop_delay', 'p99 event-loop delay in ms over one check interval'),
        event_loop_utilization: pair('event_loop_utilization', 'event-loop utilisation (0..1) over one check interval'),
        exporter_queue: pair('exporter_queue', 'fill of the fullest exporter sending queue (0..1)'),
        wal: pair('wal', 'fill of the somatic WAL (0..1)'),
      })
      .describe('Enter thresholds per sensor; leave thresholds are these x leave_ratio'),
    wal: s
      .object({
        directory: s.string().default('./data/somatic').describe('Directory of the debt WAL; each pipeline gets a subdirectory named after it'),
        max_size_mib: s
          .int(1)
          .default(4096)
          .describe('Disk budget of the debt per pipeline; past it, Red requests are refused (retryable) with a Retry-After from the drain rate'),
        fsync: s
          .enum('always', 'interval', 'never')
          .default('interval')
          .describe('When appends are fsynced before a Red request is acknowledged (interval = group commit)'),
        fsync_interval: s.duration().default(10).describe('The group-commit window of fsync: interval'),
        fsync_after_mib: s
          .number(0)
          .default(1)
          .describe(
            'fsync: interval also syncs once this many MiB were written since the last sync (0: the window only); a Red request never waits longer than the window',
          ),
        direct_io: s
          .bool()
          .default(true)
          .describe(
            'Write segments with O_DIRECT, bypassing the page cache (its copy bounded Red on the bench VM); false, or a file system that refuses direct I/O, writes through the page cache',
          ),
      })
      .describe('The somatic WAL, where Red spills request bytes'),
    replay: s
      .object({
        max_in_flight: s.int(1, 1024).default(16).describe('Replayed requests in the pipeline at once, at most (the pace adapts below this)'),
        dead_letter_path: s
          .string()
          .default('')
          .describe(
            'File receiving replayed debt the pipeline refuses permanently (the exporterhelper dead-letter format), so acknowledged data never leaves without a trace; empty = <wal.directory>/<pipeline>.dead-letter',
          ),
      })
      .describe('How debt is fed back once the zone falls'),
    optional_processors: s
      .map(s.bool())
      .default({})
      .describe('Per processor ID: whether Yellow may bypass it, overriding what the processor declares (e.g. attributes/x: false)'),
    force_zone: s.enum('green', 'yellow', 'red').describe('Pin the zone (benchmarks, tests); unset = sensed'),
  }),
  (v, path, issues) => {
    for (const [key, t] of Object.entries(v.thresholds)) {
      if (t.yellow > 0 && t.red > 0 && t.red < t.yellow) {
        issues.push({ path: [...path, 'thresholds', key, 'red'], message: `must be at least yellow (${t.yellow}) or 0, got ${t.red}` });
      }
    }
    const budget = v.inflight_budget_mib;
    if (budget > v.memory_limit_mib) {
      issues.push({ path: [...path, 'inflight_budget_mib'], message: `must not exceed memory_limit_mib (${v.memory_limit_mib}), got ${budget}` });
    }
    if (v.check_interval < 10) issues.push({ path: [...path, 'check_interval'], message: `must be at least 10ms, got ${v.check_interval}ms` });
  },
);

export type SomaticProcessorConfig = ConfigOf<typeof somaticProcessorConfig>;
