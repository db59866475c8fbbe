// Green with the gateway's processors, on the passthrough client and sink: otlp receiver -> somatic
// (pinned Green, first) -> resourcedetection [env, system] -> resource upsert -> attributes insert + hash
// -> batch (defaults) -> otlphttp -> sink. Compared with forwarder-http. Target: >= 450k records/s.
import { measure, withGateway } from '../lib/throughput.mjs';
import { PASSTHROUGH_BATCH } from './passthrough.mjs';

export const GREEN_PROCESSORS_TARGET = 450_000;

export function greenProcessorsConfig() {
  return {
    // Pinned Green: this measures the full processing path; the zone sensors are measured in overload.
    somatic: { force_zone: 'green', memory_limit_mib: 1024, wal: { directory: './data/somatic' } },
    resourcedetection: { detectors: ['env', 'system'], override: false },
    resource: {
      attributes: [
        { key: 'deployment.environment', value: 'bench', action: 'upsert' },
        { key: 'cloud.region', value: 'europe-west1', action: 'upsert' },
      ],
    },
    attributes: {
      actions: [
        { key: 'env', value: 'production', action: 'insert' },
        { key: 'loadgen.attr.0', action: 'hash' }, // a string attribute every loadgen record carries
      ],
    },
    ...PASSTHROUGH_BATCH,
  };
}

export function greenProcessors(protocol = 'http') {
  return {
    name: 'green-processors',
    title: `Green with the gateway processors (${protocol}): somatic(green) -> resourcedetection[env,system] -> resource upsert -> attributes insert+hash -> batch`,
    path: `loadgen -> gateway [somatic, resourcedetection, resource, attributes, batch] -> sink (${protocol})`,
    needs: [`forwarder-${protocol}`],
    async run(ctx) {
      return withGateway({ protocol, processors: greenProcessorsConfig() }, ({ gw, sink, endpoint }) =>
        measure({ opts: ctx.opts, protocol: protocol === 'grpc' ? 'grpc' : 'http/protobuf', endpoint, pids: { gateway: gw.pid, sink: sink.pid }, sink, verify: 'after-stop' }),
      );
    },
  };
}
