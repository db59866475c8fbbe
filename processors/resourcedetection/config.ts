import { s, type ConfigOf } from '../../src/core/schema.js';

const attr = () => s.object({ enabled: s.bool().default(true) });

export const resourceDetectionProcessorConfig = s.object({
  detectors: s
    .array(s.enum('env', 'system'))
    .default(['env'])
    .describe('Detectors to run, in order; when two detect the same key, the earlier one wins'),
  override: s.bool().default(true).describe('Whether detected values replace attributes the resource already has'),
  timeout: s.duration().default(5000).describe('Longest the detection at start may take'),
  system: s.object({
    resource_attributes: s.object({
      'host.name': attr().describe('os.hostname()'),
      'os.type': attr().describe('linux, darwin, windows, ... (semantic convention values)'),
      'host.arch': attr().describe('amd64, arm64, ... (semantic convention values)'),
      'host.id': attr().describe('/etc/machine-id or /var/lib/dbus/machine-id, when readable'),
    }),
  }),
});

export type ResourceDetectionProcessorConfig = ConfigOf<typeof resourceDetectionProcessorConfig>;
