import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';

export const fileExporterConfig = s.object({
  path: s.string().mustBeSet().describe('File to append to; parent directories are created'),
  format: s.enum('json', 'proto').default('json').describe('json: one OTLP/JSON request per line; proto: 4-byte big-endian length + protobuf request'),
  rotation: s.object({
    max_megabytes: s.int(0).default(100).describe('Rotate before the file would exceed this many MiB (0 = never rotate)'),
    max_backups: s.int(0).default(100).describe('Rotated files kept (path.1 newest ... path.N oldest; 0 = keep all)'),
  }),
  flush_interval: s.duration().default(0).describe('Gather requests for this long and write them together (0 = write as they come)'),
  // A local write answers the client when it is done: no queue and no retries unless asked for.
  ...exporterHelperShape({ queueEnabled: false, retryEnabled: false }),
});

export type FileExporterConfig = ConfigOf<typeof fileExporterConfig>;
