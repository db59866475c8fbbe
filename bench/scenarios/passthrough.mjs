// Passthrough: loadgen -> gateway [otlp receiver -> batch -> otlphttp / otlp exporter, compression none]
// -> sink (tracking; loss verified at the end). The gateway's own cost over the forwarding floor.
import { measureThroughGateway } from '../lib/throughput.mjs';

/**
 * The batch settings of the passthrough scenarios: the batch processor's defaults (8192 items / 200 ms,
 * flush_when_idle: a batch goes once an event-loop turn brings no new request, so a closed-loop client
 * with fewer records in flight than send_batch_size no longer waits out the timeout).
 */
export const PASSTHROUGH_BATCH = { batch: {} };
/** The earlier override (send_batch_size 4096), kept as a diagnostic beside the defaults. */
export const PASSTHROUGH_BATCH_4096 = { batch: { send_batch_size: 4096, timeout: '200ms' } };

export function passthrough(protocol, { name = `passthrough-${protocol}`, processors = PASSTHROUGH_BATCH, receiver, title } = {}) {
  const exporter = protocol === 'grpc' ? 'otlp' : 'otlphttp';
  return {
    name,
    title:
      title ??
      `Passthrough ${protocol}: otlp receiver -> ${Object.keys(processors).join(' -> ') || '(no processors)'} -> ${exporter} (compression none) -> sink`,
    path: `loadgen -> gateway [${Object.keys(processors).join(', ') || 'no processors'}] -> sink (${protocol})`,
    processors,
    needs: [`forwarder-${protocol}`, `ceiling-${protocol}`],
    proto: protocol,
    async run(ctx) {
      return measureThroughGateway(ctx, { protocol, processors, receiver, cpuProf: ctx.opts.cpuProf, profileDir: ctx.opts.profileDir });
    },
  };
}
