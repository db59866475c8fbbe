import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';

export const debugExporterConfig = s.object({
  verbosity: s
    .enum('basic', 'normal', 'detailed')
    .default('basic')
    .describe('basic: one summary log line per request; normal: plus one line per item; detailed: plus the whole request as OTLP/JSON'),
  sampling_initial: s.int(1).default(2).describe('Requests shown in full each second before sampling starts'),
  sampling_thereafter: s.int(1).default(1).describe('After sampling_initial, show every Nth request of that second (1 = all)'),
  use_internal_logger: s
    .bool()
    .default(true)
    .describe(
      "true: the summary lines go through the gateway's own logger (service.telemetry.logs) and the item lines to stdout; false: everything goes to output_paths, unsampled by the gateway's log settings",
    ),
  output_paths: s
    .array(s.string())
    .default(['stdout'])
    .describe('With use_internal_logger: false, where the output goes: stdout, stderr or file paths (appended to)'),
  output: s.notYet('chooses which record, scope and resource attributes the normal and detailed output prints'),
  // Printing cannot fail for want of a downstream: no queue and no retries unless asked for.
  ...exporterHelperShape({ queueEnabled: false, retryEnabled: false }),
});

export type DebugExporterConfig = ConfigOf<typeof debugExporterConfig>;
