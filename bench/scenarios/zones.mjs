// Somatic zones, each forced (processors/somatic force_zone), on the same pipeline and client as the
// passthrough scenarios: otlp receiver -> somatic -> resource (a skippable enrichment) -> batch ->
// otlphttp -> sink. Compared with the forwarding floor (forwarder-http) measured in the same run.
//  - zone-green: the full pipeline (resource runs).
//  - zone-yellow: resource bypassed; bytes go on undecoded, batch joins bytes.
//  - zone-red: every request appended to the somatic WAL (fsync interval 10 ms) and acknowledged; the
//    zone stays Red, so nothing is replayed and the sink sees nothing: the loss check does not apply.
// Green/Yellow check loss after the gateway stopped and drained (acknowledged = in the sending queue).
import { measureThroughGateway } from '../lib/throughput.mjs';
import { PASSTHROUGH_BATCH } from './passthrough.mjs';

export function zoneProcessors(zone) {
  return {
    // The WAL lands under the gateway's temporary working directory (removed with it).
    somatic: { force_zone: zone, memory_limit_mib: 1024, wal: { directory: './data/somatic', max_size_mib: 65536, fsync: 'interval', fsync_interval: '10ms' } },
    resource: { attributes: [{ key: 'deployment.environment', value: 'bench', action: 'insert' }] },
    ...PASSTHROUGH_BATCH,
  };
}

const TITLES = {
  green: 'Somatic zone forced Green (http): somatic -> resource -> batch, full processing',
  yellow: 'Somatic zone forced Yellow (http): resource bypassed, bytes undecoded',
  red: 'Somatic zone forced Red (http): raw append to the somatic WAL (fsync 10 ms), ack; no replay while Red',
};

export function zone(z, protocol = 'http') {
  return {
    name: `zone-${z}`,
    title: TITLES[z],
    path: `loadgen -> gateway [somatic(${z}), resource, batch] -> ${z === 'red' ? 'somatic WAL' : 'sink'} (${protocol})`,
    needs: [`forwarder-${protocol}`],
    // Red acknowledges only fdatasynced bytes: the disk's durable write rate is its ceiling.
    companions: z === 'red' ? ['disk-ceiling'] : [],
    async run(ctx) {
      return measureThroughGateway(ctx, { protocol, processors: zoneProcessors(z), track: z !== 'red' }, z !== 'red' ? 'after-stop' : false);
    },
  };
}
