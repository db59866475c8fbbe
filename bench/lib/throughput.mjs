// The shared closed-loop throughput measurement: a warm-up run, then a measured run of the same loadgen
// client, with CPU/RSS of every process sampled from /proc and an optional loss check at the sink.
import { runLoadgenProc, startGateway, startSinkProc, freePort } from './procs.mjs';
import { watchProcs, memOf, loadavg } from './measure.mjs';

/** The workload every throughput scenario uses unless a flag changes it (see run-all.mjs --help). */
export function workload(opts) {
  return {
    signal: 'logs',
    batch: opts.batch,
    workers: opts.workers,
    bodySize: opts.bodySize, // 246 characters of body -> ~434 bytes per encoded log record
    attributes: 4,
    timeoutMs: 30_000,
    // A fixed offered load (records/s) when set; as fast as possible otherwise.
    ...(opts.rate ? { rate: opts.rate } : {}),
  };
}

/**
 * Runs the client against `endpoint` and returns the measured figures.
 * pids: {gateway?, forwarder?, sink} for CPU/RSS accounting. sink: the sink process (for stats/verify).
 */
export async function measure({ opts, protocol, endpoint, pids, sink, verify }) {
  const base = { ...workload(opts), protocol, endpoint };
  // One client process: the warm-up runs in it and is left out of its figures, so the measured time starts
  // with the client warm too (a fresh process's first requests are slow on the client's side).
  let before;
  let load;
  let watch;
  const r = await runLoadgenProc(
    { ...base, warmupMs: opts.warmupMs, durationMs: opts.durationMs },
    {
      onMeasureStart: () => {
        before = sink.stats();
        load = loadavg();
        watch = watchProcs(pids);
      },
    },
  );
  const procs = watch.stop();
  const after = await sink.stats();
  const sinkBefore = await before;
  const acked = [{ runId: r.runId, ackedRanges: r.ackedRanges }];
  const res = {
    protocol,
    recordsPerSec: r.recordsPerSec,
    bytesPerSec: r.bytesPerSec,
    bytesPerRecord: r.acked ? r.bytes / (r.acked + r.rejected + r.failed) : NaN,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    max: r.latencyMs.max,
    acked: r.acked,
    failed: r.failed + r.warmupFailed, // a failure is reported even when it came in the warm-up
    refused: r.refused,
    errors: r.errors,
    sinkRecords: after.totals.records - sinkBefore.totals.records,
    sinkRequests: after.totals.requests - sinkBefore.totals.requests,
    procs,
    clientCores: r.clientCpuSec / (r.elapsedMs / 1000),
    load,
    failures: r.failures,
  };
  if (res.sinkRequests > 0) res.recordsPerSinkRequest = res.sinkRecords / res.sinkRequests;
  if (pids.gateway) res.gatewayHwm = memOf(pids.gateway).hwm;
  // A gateway may acknowledge on enqueue (memory sending queue), so its loss check waits until it has
  // drained and stopped (withGateway does it); a forwarder acknowledges after the sink, so check now.
  if (verify === 'after-stop') res.ackedRuns = acked;
  else if (verify) res.loss = await lossCheck(sink, acked);
  return res;
}

export async function lossCheck(sink, acked) {
  const v = await sink.verify(acked);
  return { ok: v.ok, lost: v.lost, acked: v.runs.reduce((a, x) => a + x.acked, 0), duplicates: v.runs.reduce((a, x) => a + x.duplicates, 0) };
}

/** "0 lost of 1,234,000 acked (0 dup)" or "n/a". */
export function lossText(loss) {
  if (!loss) return 'not checked';
  return `${loss.ok ? 'OK' : 'LOSS'}: ${loss.lost} lost / ${loss.acked.toLocaleString('en-US')} acked${loss.duplicates ? `, ${loss.duplicates} dup` : ''}`;
}

/** Gateway config for a passthrough pipeline: otlp receiver -> processors -> one exporter to the sink. */
export async function gatewayConfig({ protocol, sink, processors = { batch: {} }, processing, receiver = {}, extra = {} }) {
  const recvPort = await freePort();
  const metricsPort = await freePort();
  const receivers = {
    otlp: {
      ...receiver,
      protocols:
        protocol === 'grpc' ? { grpc: { endpoint: `127.0.0.1:${recvPort}`, max_recv_msg_size_mib: 64 } } : { http: { endpoint: `127.0.0.1:${recvPort}` } },
    },
  };
  const exporters =
    protocol === 'grpc'
      ? { otlp: { endpoint: sink.grpcTarget, tls: { insecure: true }, compression: 'none' } }
      : { otlphttp: { endpoint: sink.httpUrl, compression: 'none' } };
  const config = {
    receivers,
    processors,
    exporters,
    service: {
      pipelines: { logs: { receivers: ['otlp'], processors: Object.keys(processors), exporters: Object.keys(exporters) } },
      telemetry: { logs: { level: 'info' }, metrics: { address: `127.0.0.1:${metricsPort}` } },
      ...(processing ? { processing } : {}),
    },
    ...extra,
  };
  return {
    config,
    endpoint: protocol === 'grpc' ? `127.0.0.1:${recvPort}` : `http://127.0.0.1:${recvPort}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
  };
}

/** Sink + gateway up, run `fn({gw, sink, endpoint, metricsUrl, config})`, everything down again. */
export async function withGateway({ protocol, processors, processing, receiver, track = true, cpuProf, profileDir }, fn) {
  const sink = await startSinkProc({ track });
  let gw;
  // (telemetry logs stay at info: the "gateway started" line is the readiness signal; nothing is logged per request.)
  try {
    const g = await gatewayConfig({ protocol, sink, processors, processing, receiver });
    gw = await startGateway(g.config, { cpuProf, profileDir });
    const out = await fn({ gw, sink, ...g });
    const stopped = await gw.stop(); // SIGTERM: the gateway drains its queues into the sink before exiting
    gw = undefined;
    if (stopped.code !== 0) throw new Error(`gateway exited with code ${stopped.code} after SIGTERM`);
    if (out.ackedRuns) {
      out.loss = await lossCheck(sink, out.ackedRuns);
      delete out.ackedRuns;
    }
    return { ...out, profiles: stopped.profiles };
  } finally {
    if (gw) await gw.stop();
    await sink.stop();
  }
}

/**
 * A scenario's throughput run through a gateway of its own: withGateway with `gatewayOpts`, the load sent
 * over `gatewayOpts.protocol`; `verify` as measure's ('after-stop', or false when nothing reaches the sink).
 */
export function measureThroughGateway(ctx, gatewayOpts, verify = 'after-stop') {
  return withGateway(gatewayOpts, ({ gw, sink, endpoint }) =>
    measure({
      opts: ctx.opts,
      protocol: gatewayOpts.protocol === 'grpc' ? 'grpc' : 'http/protobuf',
      endpoint,
      pids: { gateway: gw.pid, sink: sink.pid },
      sink,
      verify,
    }),
  );
}
