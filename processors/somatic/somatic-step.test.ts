/**
 * Step load against a real gateway process (node bin/gophership.js, built by `npm test` / `npx tsc -p .`):
 * a stretch of load far beyond Green capacity, then light load. The gateway must keep RSS under
 * memory_limit_mib, rise to Yellow and Red and fall back, lose no acknowledged record, refuse nothing while
 * its WAL has room, deliver every record (replayed debt included) with the Green-only processing (the
 * resource processor's enrichment), and change zone only a few times while the load is steady.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { forEachField } from '../../src/pdata/wire.js';
import { runLoadgen, type LoadgenResult } from '../../src/tools/loadgen/index.js';
import { startSink, type Sink } from '../../src/tools/sink/index.js';
import { allocatorEnv } from '../../src/core/allocator.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Headroom above the ~285-345 MiB this overload peaks at on 2 busy cores (it was ~240-300 before the
// machine got busier), so the admission gate (which refuses past 0.9 x the limit) never has to: the test
// asserts no refusal while the WAL has room. At 400 MiB, 4 runs in 12 failed, with the old code as with
// the new: 100 requests refused near 0.9 x the limit, or RSS left at 0.88 of it after the load, holding
// Yellow through the RSS sensor (enter 0.85).
const LIMIT_MIB = 512;

let child: ChildProcess | undefined;
let sink: Sink | undefined;
let dir: string | undefined;
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
  }
  await sink?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function vmRss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.text();
}

function value(text: string, series: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(series)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Walks the file exporter's proto output: [u32 length][ExportLogsServiceRequest]... */
function tallyFile(buf: Buffer): { records: number; enriched: number; tagged: number } {
  let records = 0;
  let enriched = 0;
  let tagged = 0;
  const key = Buffer.from('enriched');
  const tag = Buffer.from('tagged');
  for (let off = 0; off + 4 <= buf.length;) {
    const len = buf.readUInt32BE(off);
    const req = buf.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    forEachField(req, 0, req.length, 1, (rs, re) => {
      let has = false;
      let n = 0;
      forEachField(req, rs, re, 1, (s, e) => {
        forEachField(req, s, e, 1, (ks, ke) => {
          forEachField(req, ks, ke, 1, (a, b) => {
            if (b - a === key.length && key.equals(req.subarray(a, b))) has = true;
          });
        });
      });
      forEachField(req, rs, re, 2, (ss, se) =>
        forEachField(req, ss, se, 2, (ls, le) => {
          n++;
          // LogRecord.attributes (6) -> KeyValue.key (1): the attributes processor's insert.
          let has = false;
          forEachField(req, ls, le, 6, (ks, ke) =>
            forEachField(req, ks, ke, 1, (a, b) => void (has ||= b - a === tag.length && tag.equals(req.subarray(a, b)))),
          );
          if (has) tagged++;
        }),
      );
      records += n;
      if (has) enriched += n;
    });
  }
  return { records, enriched, tagged };
}

it('under a step load: RSS under the limit, Yellow and Red and back, nothing lost, every record enriched', async () => {
  sink = await startSink({ grpc: false });
  dir = await mkdtemp(join(tmpdir(), 'gs-somatic-step-'));
  const out = join(dir, 'out.bin');
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
    processors: {
      somatic: {
        memory_limit_mib: LIMIT_MIB,
        inflight_budget_mib: 64,
        check_interval: '100ms',
        min_dwell: '1s',
        // Red at 0.14 of the in-flight budget (was 0.18): the gateway that loads only its configured
        // components (src/component-index.ts) has a smaller heap and cheaper full GCs, and at 0.18 it took
        // this step load without reaching Red in 3 runs of 3 on a loaded machine (4 of 5 did at 0.14).
        thresholds: { inflight: { yellow: 0.1, red: 0.14 }, event_loop_delay: { yellow: 30, red: 100 } },
        wal: { directory: join(dir, 'somatic'), max_size_mib: 2048, fsync: 'interval' },
      },
      resource: { attributes: [{ key: 'enriched', value: 'yes', action: 'insert' }] },
      // A record-level edit, run on the worker threads (service.processing.worker_threads below).
      attributes: { actions: [{ key: 'tagged', value: 'yes', action: 'insert' }] },
      batch: { send_batch_size: 8192, timeout: '50ms' },
    },
    exporters: {
      otlphttp: { endpoint: sink.httpUrl, compression: 'none' },
      file: { path: out, format: 'proto' },
    },
    service: {
      pipelines: { logs: { receivers: ['otlp'], processors: ['somatic', 'resource', 'attributes', 'batch'], exporters: ['otlphttp', 'file'] } },
      telemetry: { logs: { level: 'info' }, metrics: { address: '127.0.0.1:0' } },
      processing: { worker_threads: 2 },
    },
  };
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify(config));
  // JSON is YAML: the config loader reads it as is.
  // With the allocator setting every shipped launch path gives it (npm start, the image): RSS is what it measures.
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'gophership.js'), '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...allocatorEnv() },
  });
  child = proc;
  let log = '';
  proc.stderr!.on('data', (d) => (log += d.toString()));
  const started = await new Promise<{ http: string; metrics: string }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`gateway did not start:\n${log}`)), 15_000);
    proc.once('exit', (code) => reject(new Error(`gateway exited (${code}):\n${log}`)));
    const onData = (): void => {
      const recv = /"msg":"OTLP receiver listening".*?"http":"([^"]+)"/.exec(log);
      const gw = /"msg":"gateway started".*?"metrics":"([^"]+)"/.exec(log);
      if (recv && gw) {
        clearTimeout(t);
        proc.stderr!.off('data', onData);
        resolve({ http: recv[1]!, metrics: gw[1]! });
      }
    };
    proc.stderr!.on('data', onData);
  });
  const endpoint = `http://${started.http}`;
  const metricsUrl = `http://${started.metrics}/metrics`;

  // Watch RSS and the zone every 100 ms.
  let maxRss = 0;
  const zones: { t: number; zone: number; transitions: number }[] = [];
  const t0 = Date.now();
  let polling = true;
  const poll = (async () => {
    while (polling) {
      maxRss = Math.max(maxRss, vmRss(proc.pid!));
      try {
        const m = await scrape(metricsUrl);
        zones.push({ t: Date.now() - t0, zone: value(m, 'gophership_somatic_zone '), transitions: value(m, 'gophership_somatic_transitions{') });
      } catch {
        // A scrape may time out under overload; RSS is still read.
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const runs: LoadgenResult[] = [];
  // Far beyond Green: 96 requests of 1000 records in flight, unpaced: as fast as the gateway answers, for 6 s
  // or 3M records, whichever comes first. The cap keeps the spilled debt inside the WAL's 2048 MiB (on a quiet
  // machine 6 s took 5.1M records, ~2.2 GB: the budget filled and Red refused) and the file exporter's output
  // under the 2 GiB one readFile takes; Yellow and Red come within the first 2 s.
  runs.push(await runLoadgen({ endpoint, durationMs: 6000, count: 3_000_000, workers: 96, batch: 1000, maxAttempts: 5, maxElapsedMs: 30_000 }));
  const overloadEnd = Date.now() - t0;
  // Then light load.
  runs.push(await runLoadgen({ endpoint, durationMs: 5000, rate: 2000, workers: 2, batch: 200, maxAttempts: 5 }));

  // Wait for the zone to settle in Green with the debt replayed.
  // A deadline on progress, generous: on a loaded machine the replay is slow, not stuck.
  const deadline = Date.now() + 60_000;
  let m: string;
  // When the last scrape began and ended (ms since t0): the transitions it counts are those logged in between.
  let scrapeStart: number;
  let scrapeEnd: number;
  for (;;) {
    scrapeStart = Date.now() - t0;
    m = await scrape(metricsUrl);
    scrapeEnd = Date.now() - t0;
    if (value(m, 'gophership_somatic_zone ') === 0 && value(m, 'gophership_somatic_debt_records{') === 0) break;
    if (Date.now() > deadline)
      throw new Error(
        `debt not replayed in time; zone ${value(m, 'gophership_somatic_zone ')}, debt ${value(m, 'gophership_somatic_debt_records{')}\n${m
          .split('\n')
          .filter((l) => l.startsWith('gophership_somatic'))
          .join('\n')}\n${log
          .split('\n')
          .filter((l) => l.includes('somatic zone'))
          .join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
  polling = false;
  await poll;

  console.log(
    `step load: acked ${runs.map((r) => r.acked).join(' + ')}, max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB, ` +
      `spilled ${value(m, 'gophership_somatic_spilled_items{')}, transitions ${value(m, 'gophership_somatic_transitions{')}, overload ended at ${overloadEnd} ms\n` +
      log
        .split('\n')
        .filter((l) => l.includes('somatic zone'))
        .map((l) =>
          l.replace(
            /^.*"ts":"[^T]*T([^"]*)".*"msg":"([^"]*)".*"sensor":"([^"]*)","value":([\d.]+).*"intake_mib_per_s":([\d.]+).*$/,
            '$1 $2 by $3=$4 intake $5 MiB/s',
          ),
        )
        .join('\n'),
  );
  // Every acknowledged record reached the sink.
  const report = sink.verify(runs.map((r) => ({ runId: r.runId, ackedRanges: r.ackedRanges })));
  expect(report.ok, JSON.stringify(report.runs.map((r) => ({ lost: r.lost, acked: r.acked })))).toBe(true);
  const acked = runs.reduce((a, r) => a + r.acked, 0);
  expect(acked).toBeGreaterThan(100_000);
  // No refusal: the WAL always had room.
  expect(
    runs.map((r) => r.refused + r.failed),
    `refusals by the gateway:\n${m
      .split('\n')
      .filter((l) => /refus|enqueue_failed/.test(l) && !l.startsWith('#'))
      .join('\n')}`,
  ).toEqual([0, 0]);

  // The zone rose to Yellow and to Red, and fell back; debt was spilled and replayed.
  expect(value(m, 'gophership_somatic_transitions{sensor') > 0).toBe(true);
  expect(/gophership_somatic_transitions\{[^}]*from="green",to="yellow"\} [1-9]/.test(m)).toBe(true);
  expect(/gophership_somatic_transitions\{[^}]*from="yellow",to="red"\} [1-9]/.test(m)).toBe(true);
  expect(/gophership_somatic_transitions\{[^}]*from="red",to="yellow"\} [1-9]/.test(m)).toBe(true);
  expect(value(m, 'gophership_somatic_spilled_items{')).toBeGreaterThan(0);
  expect(value(m, 'gophership_somatic_replayed_items{')).toBe(value(m, 'gophership_somatic_spilled_items{'));
  expect(zones.some((z) => z.zone === 2)).toBe(true);
  // The whole run: up to Red and back down, with little or no flapping.
  expect(value(m, 'gophership_somatic_transitions{')).toBeLessThanOrEqual(12);

  // Few transitions while the overload was steady: from its first rise to Red to its end. Timed by the
  // gateway's own log (every transition logs a line with its time): scrapes time out under this overload
  // on a loaded machine (a run under a load of 20 had none in its last 4 s), and there the overload takes
  // seconds to build up, so a fixed window at its end could hold the rise itself.
  const transitions = log
    .split('\n')
    .filter((l) => /"msg":"somatic zone (rose|fell) to /.test(l))
    .map((l) => ({ t: Date.parse(/"ts":"([^"]+)"/.exec(l)![1]!) - t0, toRed: l.includes('"msg":"somatic zone rose to red"') }));
  // The log and the metric agree: every transition logged before the last scrape is counted in it, none
  // logged after it (the zone may move again after settling, e.g. on the event loop's delay under load).
  const counted = value(m, 'gophership_somatic_transitions{');
  expect(transitions.filter((x) => x.t < scrapeStart).length).toBeLessThanOrEqual(counted);
  expect(transitions.filter((x) => x.t <= scrapeEnd + 1).length).toBeGreaterThanOrEqual(counted);
  const redAt = transitions.find((x) => x.toRed)?.t ?? Infinity;
  expect(redAt).toBeLessThan(overloadEnd);
  expect(transitions.filter((x) => x.t > redAt && x.t <= overloadEnd).length).toBeLessThanOrEqual(2);

  // RSS never went past the limit.
  expect(maxRss).toBeGreaterThan(0);
  expect(maxRss).toBeLessThanOrEqual(LIMIT_MIB * 2 ** 20);

  // Every delivered record carries the Green-only enrichment, replayed debt included: the only records
  // without it are those fresh Yellow requests sent around the resource processor, counted exactly.
  const bypassed = value(m, 'gophership_somatic_bypassed_items{pipeline="logs",processor="resource"}');
  const bypassedAttributes = value(m, 'gophership_somatic_bypassed_items{pipeline="logs",processor="attributes"}');
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  const tally = tallyFile(await readFile(out));
  expect(tally.records).toBeGreaterThanOrEqual(acked);
  expect(tally.enriched).toBeGreaterThan(0);
  expect(tally.records - tally.enriched).toBe(bypassed);
  // The same for the record-level edit, which ran on worker threads: replayed debt went through them too.
  expect(tally.tagged).toBeGreaterThan(0);
  expect(tally.records - tally.tagged).toBe(bypassedAttributes);
  expect(log).toMatch(/"msg":"gateway started".*"worker_threads":2/);
  // Logs name the sensor behind each transition.
  expect(log).toMatch(/"msg":"somatic zone rose to red".*"sensor":"[a-z_]+","value":/);
}, 150_000);
