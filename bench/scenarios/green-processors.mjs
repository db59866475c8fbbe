// Green with the gateway's processors, on the passthrough client and sink: otlp receiver -> somatic
// (pinned Green, first) -> resourcedetection [env, system] -> resource upsert -> attributes insert + hash
// -> batch (defaults) -> otlphttp -> sink. Compared with forwarder-http. Target: >= 450k records/s.
// The attributes edit runs on the gateway's worker threads (service.processing.worker_threads: auto, 2
// on 2 cores); green-processors-inline is the same with worker_threads 0 (every edit on the event loop).
import { availableParallelism } from 'node:os';
import { measureThroughGateway } from '../lib/throughput.mjs';
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

export function greenProcessors(protocol = 'http', { name = 'green-processors', workerThreads = 'auto' } = {}) {
  const threads = workerThreads === 'auto' ? `auto = ${availableParallelism() < 2 ? 0 : Math.min(4, availableParallelism())}` : workerThreads;
  return {
    name,
    title: `Green with the gateway processors (${protocol}): somatic(green) -> resourcedetection[env,system] -> resource upsert -> attributes insert+hash -> batch; worker_threads ${threads}`,
    path: `loadgen -> gateway [somatic, resourcedetection, resource, attributes, batch; worker_threads ${threads}] -> sink (${protocol})`,
    needs: [`forwarder-${protocol}`],
    async run(ctx) {
      return measureThroughGateway(ctx, { protocol, processors: greenProcessorsConfig(), processing: { worker_threads: workerThreads } });
    },
  };
}
