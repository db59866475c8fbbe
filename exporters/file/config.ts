import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';

export const fileExporterConfig = s.refine(
  s.object({
    path: s
      .string()
      .mustBeSet()
      .describe("File to write; parent directories are created. With group_by, it holds one * that the resource attribute's value replaces"),
    format: s.enum('json', 'proto').default('json').describe('json: one OTLP/JSON request per line; proto: 4-byte big-endian length + protobuf request'),
    append: s.bool().default(false).describe('Append to an existing file at start; false truncates it, as the collector does'),
    compression: s
      .enum('', 'zstd')
      .default('')
      .describe('zstd: each request compressed on its own and written with a 4-byte big-endian length, in either format'),
    rotation: s
      .presence(
        s.object({
          max_megabytes: s.int(0).default(100).describe('Rotate before the file would exceed this many MiB (0 = 100, as the collector)'),
          max_days: s.int(0).default(0).describe('Delete backups older than this many days, by the time in their name (0 = keep regardless of age)'),
          max_backups: s.int(0).default(100).describe('Backups kept, newest first (0 = keep all)'),
          localtime: s.bool().default(false).describe('Name backups by local time instead of UTC'),
        }),
      )
      .describe('Rotate the file by size, as the collector (lumberjack): backups are named <name>-<time>.<ext>. Absent: the file grows without rotation'),
    flush_interval: s
      .duration()
      .default(0)
      .describe(
        'Gather requests for this long and write them together (0 = write as they come). Requests are answered once written, so GopherShip keeps 0 as its default where the collector, which answers before its buffered write, has 1s',
      ),
    group_by: s.object({
      enabled: s.bool().default(false).describe('Write each resource to the file its resource attribute names'),
      resource_attribute: s.string().default('fileexporter.path_segment').describe('The resource attribute whose value replaces the * in path'),
      max_open_files: s.int(1).default(100).describe('Files kept open at once; the least recently written one is closed beyond it'),
    }),
    encoding: s.notYet('marshals records through an encoding extension instead of format'),
    // A local write answers the client when it is done: no queue and no retries unless asked for.
    ...exporterHelperShape({ queueEnabled: false, retryEnabled: false }),
  }),
  (v, path, issues) => {
    if (v.append && v.compression !== '')
      issues.push({ path: [...path, 'append'], message: 'cannot be combined with compression (the collector refuses it too)' });
    if (v.group_by.enabled) {
      const stars = v.path.split('*').length - 1;
      if (stars !== 1)
        issues.push({
          path: [...path, 'path'],
          message: "with group_by enabled the path must hold exactly one *, which the resource attribute's value replaces",
        });
      if (v.group_by.resource_attribute === '') issues.push({ path: [...path, 'group_by', 'resource_attribute'], message: 'must name a resource attribute' });
    }
  },
);

export type FileExporterConfig = ConfigOf<typeof fileExporterConfig>;
export type RotationConfig = NonNullable<FileExporterConfig['rotation']>;
