// Baselines, measured in the same run with the same client as the gateway scenarios:
//  - ceiling-<proto>: loadgen -> sink (count only). What this client and machine can push into a server
//    that does nothing but read and count: the receive ceiling.
//  - forwarder-<proto>: loadgen -> bench/forwarder.mjs -> sink (tracking). The least work a Node process
//    can do to forward a request and acknowledge after the downstream did: the forwarding floor a
//    gateway is measured against. The sink tracks sequence numbers as in the gateway scenarios, so the
//    downstream costs the same CPU in both.
import { startForwarder, startSinkProc } from '../lib/procs.mjs';
import { measure } from '../lib/throughput.mjs';

export function ceiling(protocol) {
  return {
    name: `ceiling-${protocol}`,
    title: `Receive ceiling (${protocol}): loadgen -> sink, count only`,
    path: `loadgen -> sink (${protocol}, count only)`,
    async run(ctx) {
      const sink = await startSinkProc({ track: false });
      try {
        const endpoint = protocol === 'grpc' ? sink.grpcTarget : sink.httpUrl;
        return await measure({
          opts: ctx.opts,
          protocol: protocol === 'grpc' ? 'grpc' : 'http/protobuf',
          endpoint,
          pids: { sink: sink.pid },
          sink,
          verify: false,
        });
      } finally {
        await sink.stop();
      }
    },
  };
}

export function forwarder(protocol) {
  return {
    name: `forwarder-${protocol}`,
    title: `Forwarding floor (${protocol}): loadgen -> bench/forwarder.mjs -> sink`,
    path: `loadgen -> forwarder.mjs -> sink (${protocol})`,
    async run(ctx) {
      const sink = await startSinkProc({ track: true });
      let fwd;
      try {
        fwd = await startForwarder(protocol === 'grpc' ? sink.grpcTarget : sink.httpUrl, protocol);
        const endpoint = protocol === 'grpc' ? fwd.address : `http://${fwd.address}`;
        return await measure({
          opts: ctx.opts,
          protocol: protocol === 'grpc' ? 'grpc' : 'http/protobuf',
          endpoint,
          pids: { forwarder: fwd.pid, sink: sink.pid },
          sink,
          verify: true,
        });
      } finally {
        await fwd?.stop();
        await sink.stop();
      }
    },
  };
}
