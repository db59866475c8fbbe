// Overload: 10x the measured Green (passthrough) capacity offered to the gateway, or (`flood`) a fixed
// number of connections posting large requests as fast as they are answered. Every 250 ms the
// orchestrator scrapes the gateway's /metrics (records accepted / refused by the receiver, sent by the
// exporter, RSS, and the somatic zone once `gophership_somatic_zone` exists); VmRSS is read from /proc
// every 100 ms on its own timer, and each sample is held to memory_limit_mib (issue 17: no sample over it).
// Outputs: a timeline table (1 s rows), RSS max and samples over the limit, refusals, loss check, and an SVG.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runLoadgenProc, BENCH_DIR } from '../lib/procs.mjs';
import { memOf, scrape, loadavg, watchProcs } from '../lib/measure.mjs';
import { lossCheck, workload, withGateway } from '../lib/throughput.mjs';
import { PASSTHROUGH_BATCH } from './passthrough.mjs';

/**
 * The overload pipeline: somatic first (memory limit 512 MiB, WAL under the gateway's temporary working
 * directory, removed with it), then the batch processor on its defaults.
 */
export const OVERLOAD_PROCESSORS = {
  somatic: { memory_limit_mib: 512, wal: { directory: './data/somatic', max_size_mib: 8192, fsync: 'interval', fsync_interval: '10ms' } },
  ...PASSTHROUGH_BATCH,
};
import { renderTimelineSvg } from '../lib/svg.mjs';

/**
 * The flood of issue 17: somatic at memory_limit_mib 256 (WAL under the gateway's temporary working
 * directory), straight to the exporter; 32 connections posting ~1 MiB requests (2400 records).
 */
export const FLOOD_PROCESSORS = { somatic: { memory_limit_mib: 256, wal: { directory: './data/somatic' } } };
export const FLOOD_CLIENT = { workers: 32, batch: 2400 };
/** How often the gateway's VmRSS is sampled and held to the limit. */
const RSS_SAMPLE_MS = 100;

const ZONE_NAMES = ['green', 'yellow', 'red'];

export function overload(protocol = 'http', { factor = 10, name = `overload-${protocol}`, processors = OVERLOAD_PROCESSORS, flood } = {}) {
  const procNames = Object.keys(processors).join(', ');
  return {
    name,
    kind: 'overload',
    title: flood
      ? `Flood (${protocol}): ${flood.workers} connections posting ${flood.batch}-record (~1 MiB) requests unpaced, memory_limit_mib ${processors.somatic?.memory_limit_mib}`
      : `Overload (${protocol}): ${factor}x the Green capacity of passthrough-${protocol}`,
    path: flood
      ? `loadgen (${flood.workers} workers, unpaced) -> gateway [${procNames}] -> sink (${protocol})`
      : `loadgen (${factor}x workers, rate ${factor}x Green) -> gateway [${procNames}] -> sink (${protocol})`,
    needs: flood ? [] : [`passthrough-${protocol}`],
    async run(ctx) {
      const opts = ctx.opts;
      let capacity;
      let offered;
      if (!flood) {
        capacity = ctx.results.get(`passthrough-${protocol}`)?.recordsPerSec;
        if (!Number.isFinite(capacity) || capacity <= 0) throw new Error(`no Green capacity: passthrough-${protocol} did not produce records/s`);
        offered = capacity * factor;
      }
      const limitMib = processors.somatic?.memory_limit_mib ?? (processors.somatic ? 512 : undefined);
      return withGateway({ protocol, processors }, async ({ gw, sink, endpoint, metricsUrl }) => {
        const samples = [];
        const client = [];
        const t0 = performance.now();
        let prev;
        let scraping = false;
        const sample = async () => {
          if (scraping) return; // a slow scrape is itself a sign of overload; do not pile them up
          scraping = true;
          const t = (performance.now() - t0) / 1000;
          const { rss } = memOf(gw.pid);
          try {
            const m = await scrape(metricsUrl, 2000);
            const cur = {
              t,
              accepted: m.get('otelcol_receiver_accepted_log_records') ?? 0,
              refused: m.get('otelcol_receiver_refused_log_records') ?? 0,
              sent: m.get('otelcol_exporter_sent_log_records') ?? 0,
              queue: m.get('otelcol_exporter_queue_size'),
              zone: m.has('gophership_somatic_zone') ? m.get('gophership_somatic_zone') : undefined,
              rss,
              loopDelay: m.get('gophership_event_loop_delay_seconds{quantile="0.99"}'),
              debt: m.get('gophership_somatic_debt_records'),
            };
            if (prev) {
              const dt = cur.t - prev.t;
              samples.push({
                ...cur,
                acceptedRate: (cur.accepted - prev.accepted) / dt,
                refusedRate: (cur.refused - prev.refused) / dt,
                sentRate: (cur.sent - prev.sent) / dt,
              });
            }
            prev = cur;
          } catch (e) {
            samples.push({ t, rss, scrapeError: e.message });
          } finally {
            scraping = false;
          }
        };
        // VmRSS on its own 100 ms timer (a /proc read: no scrape to wait for), held to the limit.
        const rssSamples = [];
        const rssTimer = setInterval(() => rssSamples.push(memOf(gw.pid).rss), RSS_SAMPLE_MS);
        await sample();
        const timer = setInterval(sample, 250);
        const load = loadavg();
        const watch = watchProcs({ gateway: gw.pid, sink: sink.pid });
        let r;
        try {
          r = await runLoadgenProc(
            {
              ...workload(opts),
              ...(flood
                ? { workers: flood.workers, batch: flood.batch, maxAttempts: 10_000, ...(protocol === 'grpc' ? { grpcConnections: flood.workers } : {}) }
                : { workers: opts.workers * factor, rate: offered }),
              protocol: protocol === 'grpc' ? 'grpc' : 'http/protobuf',
              endpoint,
              durationMs: opts.overloadMs,
              progressIntervalMs: 250,
              maxElapsedMs: 120_000,
            },
            { onProgress: (p) => client.push({ t: (performance.now() - t0) / 1000, ...p }) },
          );
        } finally {
          clearInterval(timer);
        }
        await sample();
        const procs = watch.stop();
        const clientEnd = (performance.now() - t0) / 1000;
        // Acknowledged but not yet at the sink when the client finished = held in the gateway's queue.
        const pendingAtEnd = (await lossCheck(sink, [{ runId: r.runId, ackedRanges: r.ackedRanges }])).lost;
        // Keep sampling until the exporter has sent everything the receiver accepted and the somatic WAL debt
        // (Red spill) has been replayed (drain), up to 60 s.
        let drainSec;
        for (const deadline = performance.now() + 60_000; performance.now() < deadline;) {
          const last = samples[samples.length - 1];
          if (last && !last.scrapeError && last.sent >= last.accepted && !(last.queue > 0) && !(last.debt > 0)) break;
          await new Promise((res) => setTimeout(res, 250));
          await sample();
        }
        drainSec = Math.max(0, samples[samples.length - 1].t - clientEnd);
        clearInterval(rssTimer);
        const hwm = memOf(gw.pid).hwm;
        const rssOk = rssSamples.filter((r) => Number.isFinite(r));
        const svg = renderTimelineSvg({
          title: flood
            ? `GopherShip flood (${protocol}): ${flood.workers} connections, ${flood.batch}-record requests, memory_limit_mib ${limitMib}`
            : `GopherShip overload (${protocol}): offered ${fmtK(offered)} records/s = ${factor}x Green (${fmtK(capacity)}/s)`,
          samples,
          client,
          capacity,
          offered,
          zoneNames: ZONE_NAMES,
        });
        const svgFile = join(BENCH_DIR, opts.svgName ?? (flood ? `${name}.svg` : 'overload.svg'));
        await writeFile(svgFile, svg);
        const ok = samples.filter((s) => !s.scrapeError);
        return {
          protocol,
          capacity,
          offered,
          factor,
          flood,
          workers: flood ? flood.workers : opts.workers * factor,
          requestBytes: r.bytes / Math.max(1, r.requests),
          recordsPerSec: r.recordsPerSec,
          bytesPerSec: r.bytesPerSec,
          p50: r.latencyMs.p50,
          p99: r.latencyMs.p99,
          max: r.latencyMs.max,
          acked: r.acked,
          failed: r.failed,
          refused: r.refused,
          errors: r.errors,
          retried: r.retried,
          failures: r.failures,
          gatewayHwm: hwm,
          rssMax: Math.max(hwm, ...ok.map((s) => s.rss)),
          memoryLimitMib: limitMib,
          rssSamples: rssOk.length,
          rssSampleMax: Math.max(0, ...rssOk),
          // Samples over memory_limit_mib (the promise: none), and whether the kernel's high-water mark was too.
          rssOver: limitMib ? rssOk.filter((r) => r > limitMib * 2 ** 20).length : 0,
          hwmOver: limitMib ? hwm > limitMib * 2 ** 20 : false,
          debtMax: Math.max(0, ...ok.map((s) => s.debt ?? 0)),
          debtAtEnd: ok.length ? ok[ok.length - 1].debt : undefined,
          refusedRecords: ok.length ? ok[ok.length - 1].refused : NaN,
          zonesSeen: [...new Set(ok.filter((s) => s.zone !== undefined).map((s) => zoneName(s.zone)))],
          scrapeErrors: samples.length - ok.length,
          samples,
          client,
          procs,
          load,
          // The loss check itself runs after the gateway drained and stopped (withGateway).
          ackedRuns: [{ runId: r.runId, ackedRanges: r.ackedRanges }],
          pendingAtEnd,
          drainSec,
          clientEnd,
          svgFile,
        };
      });
    },
  };
}

function fmtK(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}

export function zoneName(z) {
  return ZONE_NAMES[Math.round(z)] ?? String(z);
}

/** The timeline as a markdown table, one row per second (last 250 ms sample of each second). */
export function timelineTable(res) {
  const rows = [];
  let nextT = 1;
  const good = res.samples.filter((s) => !s.scrapeError);
  for (const s of good) {
    if (s.t < nextT && s !== good[good.length - 1]) continue;
    nextT = Math.floor(s.t) + 1;
    const c = [...res.client].reverse().find((x) => x.t <= s.t + 0.01);
    rows.push(
      `| ${s.t.toFixed(1)} | ${Math.round(s.acceptedRate).toLocaleString('en-US')} | ${Math.round(s.sentRate).toLocaleString('en-US')} | ${Math.round(s.refusedRate).toLocaleString('en-US')} | ${c ? c.refused : ''} | ${s.queue ?? 'n/a'} | ${(s.rss / 2 ** 20).toFixed(0)} | ${s.loopDelay !== undefined ? (s.loopDelay * 1000).toFixed(1) : ''} | ${s.zone !== undefined ? zoneName(s.zone) : 'n/a'} | ${s.debt !== undefined ? Math.round(s.debt).toLocaleString('en-US') : 'n/a'} |`,
    );
  }
  return [
    '| t (s) | accepted rec/s | exported rec/s | refused rec/s | client refusals (cum.) | exporter queue (batches) | gateway RSS (MiB) | loop delay p99 (ms) | zone | WAL debt (records) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...rows,
  ].join('\n');
}
