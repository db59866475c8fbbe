// Passthrough: loadgen -> gateway [otlp receiver -> batch -> otlphttp / otlp exporter, compression none]
// -> sink (tracking; loss verified at the end). The gateway's own cost over the forwarding floor.
import { measure, withGateway } from '../lib/throughput.mjs';

/** The batch settings of the passthrough scenarios (see README: why not the defaults). */
export const PASSTHROUGH_BATCH = { batch: { send_batch_size: 4096, timeout: '200ms' } };

export function passthrough(protocol, { name = `passthrough-${protocol}`, processors = PASSTHROUGH_BATCH, title } = {}) {
  const exporter = protocol === 'grpc' ? 'otlp' : 'otlphttp';
  return {
    name,
    title: title ?? `Passthrough ${protocol}: otlp receiver -> ${Object.keys(processors).join(' -> ') || '(no processors)'} -> ${exporter} (compression none) -> sink`,
    path: `loadgen -> gateway [${Object.keys(processors).join(', ') || 'no processors'}] -> sink (${protocol})`,
    processors,
    needs: [`forwarder-${protocol}`, `ceiling-${protocol}`],
    proto: protocol,
    async run(ctx) {
      return withGateway({ protocol, processors, cpuProf: ctx.opts.cpuProf, profileDir: ctx.opts.profileDir }, ({ gw, sink, endpoint }) =>
        measure({ opts: ctx.opts, protocol: protocol === 'grpc' ? 'grpc' : 'http/protobuf', endpoint, pids: { gateway: gw.pid, sink: sink.pid }, sink, verify: 'after-stop' }),
      );
    },
  };
}
