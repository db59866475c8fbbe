#!/usr/bin/env node
// GopherShip benchmark suite. `npm run bench` runs every scenario; `node bench/run-all.mjs NAME...` runs
// the named ones (plus the baselines they are compared with). Prints markdown and appends a dated
// section to bench/RESULTS.md. Needs dist/ (npx tsc -p .). See bench/README.md.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ceiling, forwarder } from './scenarios/baselines.mjs';
import { passthrough, PASSTHROUGH_BATCH_4096 } from './scenarios/passthrough.mjs';
import { overload, timelineTable, FLOOD_CLIENT, FLOOD_PROCESSORS, OVERLOAD_PROCESSORS } from './scenarios/overload.mjs';
import { greenProcessors, GREEN_PROCESSORS_TARGET } from './scenarios/green-processors.mjs';
import { diskCeiling, processorsMicro, redFloor, walAppend } from './scenarios/external.mjs';
import { zone } from './scenarios/zones.mjs';
import { LIGHT_ROWS, runLight } from './scenarios/light.mjs';
import { loadavg } from './lib/measure.mjs';
import { appendResults, commandLine, fmt, machineBlock, stamp, table } from './lib/report.mjs';
import { profileMarkdown, summariseProfile } from './lib/cpuprofile.mjs';
import { durationFlag } from './lib/flags.mjs';

/** Passthrough (batch only) must reach this fraction of the forwarding floor. */
const TARGET_VS_FORWARDER = 0.8;

// ---------------------------------------------------------------------------------------------------
// The scenario registry. Order = run order. A scenario is {name, title, path, needs?, kind?, pending?,
// run(ctx)}; `needs` names scenarios whose results it compares against (run first, once, same client);
// `companions` names scenarios run in the same invocation whenever this one is (in their usual place).
// `pending` = not runnable yet (listed in the output with the reason). To add one: write its run() in
// bench/scenarios/ (passthrough(...) and overload(...) take a name and a processors config), add it here.
// ---------------------------------------------------------------------------------------------------
export const SCENARIOS = [
  ceiling('http'),
  ceiling('grpc'),
  forwarder('http'),
  forwarder('grpc'),
  // Passthrough: the batch processor on its defaults (8192 items / 200 ms, flush_when_idle).
  passthrough('http'),
  passthrough('grpc'),
  // Diagnostics beside the batch-only passthrough: no processor at all (receiver + exporter cost), and the
  // earlier send_batch_size 4096 override (before flush_when_idle it was needed to avoid 200 ms stalls).
  passthrough('http', { name: 'passthrough-http-nobatch', processors: {} }),
  passthrough('http', { name: 'passthrough-http-batch4096', processors: PASSTHROUGH_BATCH_4096 }),
  // The receiver's UTF-8 check of string fields off (check_utf8: false), to read its cost beside passthrough-http.
  passthrough('http', {
    name: 'passthrough-http-noutf8',
    receiver: { check_utf8: false },
    title: 'Passthrough http with the receiver UTF-8 check off (check_utf8: false)',
  }),
  // Somatic zones forced (bench/scenarios/zones.mjs; standalone: bench/somatic-zones.mjs), vs the forwarder.
  zone('green'),
  zone('yellow'),
  zone('red'),
  greenProcessors('http'),
  greenProcessors('http', { name: 'green-processors-inline', workerThreads: '0' }),
  overload('http', { processors: OVERLOAD_PROCESSORS }),
  // Issue 17's flood: 32 connections of ~1 MiB requests at memory_limit_mib 256; RSS held to it every 100 ms.
  overload('http', { name: 'flood-http', processors: FLOOD_PROCESSORS, flood: FLOOD_CLIENT }),
  overload('grpc', { name: 'flood-grpc', processors: FLOOD_PROCESSORS, flood: FLOOD_CLIENT }),
  // In-process micro-benchmarks (child processes; their tables are included as printed).
  processorsMicro(2),
  walAppend(256),
  diskCeiling(3),
];

const USAGE = `Usage: node bench/run-all.mjs [scenario ...] [flags]     (npm run bench -- [scenario ...] [flags])

Scenarios (default: all runnable): ${SCENARIOS.map((s) => s.name + (s.pending ? ' (pending)' : '')).join(', ')}
A named scenario also runs the scenarios it is compared with (its baselines).

Flags:
  --duration D           measured run per throughput scenario (default 12s)
  --warmup D             warm-up before each measurement, in the same client, not counted (default 2s)
  --overload-duration D  overload run (default 15s)
  --workers N            client connections / requests in flight (default 8)
  --batch N              records per request (default 1000)
  --body-size N          log body characters (default 246 -> ~434-byte records)
  --repeat N             rounds of the throughput scenarios; each reports its median round (default 3)
  --profile              also run passthrough-* with --cpu-prof on the gateway and print top functions
                         (done anyway when passthrough falls below ${TARGET_VS_FORWARDER} of the forwarder)
  --no-profile           never profile
  --light                the light load mode (bench/scenarios/light.mjs): pre-encoded requests from
                         bench/lib/light-client.mjs, a counting sink, the server's CPU s per M records;
                         rows: ${LIGHT_ROWS.map((r) => r.name).join(', ')} (disk-ceiling too with zone-red)
  --baseline DIR         (with --light) every gateway row also runs on the build in DIR (bin/ + dist/ +
                         node_modules), right after the current one in each round: an A/B in one run
  --ack-after-export     (with --light) every gateway row that exports also runs with its exporter's
                         sending queue off (answered once the sink answered, as the forwarder), in the
                         same round: the memory queue's early acknowledgement costs full GCs (RESULTS.md)
  --no-results           do not append to bench/RESULTS.md
  --list                 list the scenarios and exit
`;

function int(flag, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag}: expected a non-negative integer, got "${v}"`);
  return n;
}

function parse(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: 'string', default: '12s' },
      warmup: { type: 'string', default: '2s' },
      'overload-duration': { type: 'string', default: '15s' },
      workers: { type: 'string', default: '8' },
      batch: { type: 'string', default: '1000' },
      'body-size': { type: 'string', default: '246' },
      profile: { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      'no-results': { type: 'boolean', default: false },
      light: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      'ack-after-export': { type: 'boolean', default: false },
      repeat: { type: 'string', default: '3' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return {
    names: positionals,
    help: values.help,
    list: values.list,
    opts: {
      durationMs: durationFlag('duration', values.duration),
      warmupMs: durationFlag('warmup', values.warmup),
      overloadMs: durationFlag('overload-duration', values['overload-duration']),
      workers: int('workers', values.workers),
      batch: int('batch', values.batch),
      bodySize: int('body-size', values['body-size']),
      profile: values.profile,
      noProfile: values['no-profile'],
      noResults: values['no-results'],
      light: values.light,
      baseline: values.baseline,
      ackAfterExport: values['ack-after-export'],
      repeat: Math.max(1, int('repeat', values.repeat)),
    },
  };
}

/** The scenarios to run, dependencies first, each once. */
function plan(names) {
  const byName = new Map(SCENARIOS.map((s) => [s.name, s]));
  for (const n of names) if (!byName.has(n)) throw new Error(`unknown scenario "${n}"; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const wanted = new Set();
  const add = (n) => {
    if (wanted.has(n)) return;
    const s = byName.get(n);
    for (const d of [...(s.needs ?? []), ...(s.companions ?? [])]) add(d);
    wanted.add(n);
  };
  for (const n of names.length ? names : SCENARIOS.map((s) => s.name)) add(n);
  return SCENARIOS.filter((s) => wanted.has(s.name));
}

function ratio(a, b) {
  return a && b && Number.isFinite(a.recordsPerSec) && b.recordsPerSec > 0 ? a.recordsPerSec / b.recordsPerSec : NaN;
}

function cpuText(r) {
  const p = r.procs ?? {};
  const server = p.gateway ?? p.forwarder;
  const parts = [];
  if (server) parts.push(`${p.gateway ? 'gw' : 'fwd'} ${fmt.cores(server.cores)}`);
  if (Number.isFinite(r.clientCores)) parts.push(`client ${fmt.cores(r.clientCores)}`);
  if (p.sink) parts.push(`sink ${fmt.cores(p.sink.cores)}`);
  return parts.join(' / ');
}

function throughputTable(rows, results) {
  const proto = (r) => (r.scenario.name.endsWith('grpc') ? 'grpc' : 'http');
  return table(
    [
      ['scenario', (r) => `\`${r.scenario.name}\``, 'l'],
      ['path', (r) => r.scenario.path, 'l'],
      ['records/s (median)', (r) => fmt.int(r.res.recordsPerSec)],
      ['range (rounds)', (r) => `${fmt.rate(r.res.min)}–${fmt.rate(r.res.maxRate)} (${r.res.rounds})`],
      ['MB/s', (r) => fmt.mb(r.res.bytesPerSec)],
      ['rec/sink req', (r) => fmt.int(r.res.recordsPerSinkRequest)],
      ['p50 ms', (r) => fmt.ms(r.res.p50)],
      ['p99 ms', (r) => fmt.ms(r.res.p99)],
      ['server peak RSS', (r) => fmt.mib(r.res.gatewayHwm ?? r.res.procs?.forwarder?.hwm ?? r.res.procs?.sink?.hwm)],
      ['CPU cores used', (r) => cpuText(r.res)],
      ['vs forwarder', (r) => fmt.ratio(ratio(r.res, results.get(`forwarder-${proto(r)}`)))],
      ['vs ceiling', (r) => fmt.ratio(ratio(r.res, results.get(`ceiling-${proto(r)}`)))],
      ['loss check', (r) => lossCell(r.res.loss)],
      ['failed', (r) => fmt.int(r.res.failed)],
      ['load avg', (r) => r.res.load, 'l'],
    ],
    rows,
  );
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Issue 5: p99 acknowledgement latency at saturation in Yellow. */
const YELLOW_P99_TARGET_MS = 15;

/** The somatic and processor targets, checked against this run's medians. */
function targetLines(results) {
  const out = [];
  const fwd = results.get('forwarder-http');
  for (const z of ['zone-green', 'zone-yellow', 'zone-red']) {
    const r = results.get(z);
    if (!r) continue;
    const q = ratio(r, fwd);
    const goal = z === 'zone-green' ? '' : ` (target >= ${TARGET_VS_FORWARDER}${z === 'zone-yellow' ? `; p99 target <= ${YELLOW_P99_TARGET_MS} ms` : ''})`;
    const short = [];
    if (goal && q < TARGET_VS_FORWARDER) short.push('throughput');
    const rounds = r.p99Rounds ?? [r.p99];
    const p99 = median(rounds);
    if (z === 'zone-yellow' && p99 > YELLOW_P99_TARGET_MS) short.push('p99');
    const p99Text = rounds.length > 1 ? `p99 ${fmt.ms(p99)} ms (median of the rounds' ${rounds.map((x) => fmt.ms(x)).join(', ')})` : `p99 ${fmt.ms(p99)} ms`;
    // The forwarder's own p99 on the same client and machine: what saturation costs before any gateway work.
    const fwdP99 = z === 'zone-yellow' && fwd ? `; forwarder-http's own p99 in this run: ${fmt.ms(median(fwd.p99Rounds ?? [fwd.p99]))} ms` : '';
    out.push(
      `${z}: ${fmt.ratio(q)} of forwarder-http${goal}, ${p99Text}${fwdP99}${short.length ? ` — **below the target** (${short.join(', ')})` : goal ? ' — meets the target' : ''}.`,
    );
  }
  const disk = results.get('disk-ceiling');
  if (disk && fwd && results.get('zone-red')) {
    out.push(
      `disk-ceiling: ${fmt.mb(disk.bytesPerSec)} MB/s durable (fdatasync per MiB) = ${fmt.ratio(disk.bytesPerSec / fwd.bytesPerSec)} of forwarder-http's ${fmt.mb(fwd.bytesPerSec)} MB/s; ` +
        `zone-red reached ${fmt.ratio(results.get('zone-red').bytesPerSec / disk.bytesPerSec)} of it (Red answers only after fdatasync, so it cannot pass this).`,
    );
  }
  const g = results.get('green-processors');
  if (g)
    out.push(
      `green-processors: ${fmt.int(g.recordsPerSec)} records/s = ${fmt.ratio(ratio(g, fwd))} of forwarder-http (target >= ${fmt.int(GREEN_PROCESSORS_TARGET)} records/s) — ${g.recordsPerSec >= GREEN_PROCESSORS_TARGET ? 'meets the target' : '**below the target**'}.`,
    );
  const gi = results.get('green-processors-inline');
  if (gi)
    out.push(
      `green-processors-inline (worker_threads 0, for comparison): ${fmt.int(gi.recordsPerSec)} records/s${g ? `; worker threads: ${fmt.ratio(g.recordsPerSec / gi.recordsPerSec)}x` : ''}.`,
    );
  return out.length ? ['', ...out] : [];
}

function lossCell(loss) {
  if (!loss) return 'n/a (count only)';
  return `${loss.ok ? '0 lost' : `**${loss.lost} LOST**`} of ${fmt.int(loss.acked)}${loss.duplicates ? `, ${loss.duplicates} dup` : ''}`;
}

/** The verdict on issue 17's promise: no RSS sample over memory_limit_mib (and the kernel's high-water mark). */
export function rssVerdict(x) {
  if (!x.memoryLimitMib) return 'n/a (no memory limit)';
  const peak = `peak sample ${fmt.mib(x.rssSampleMax)}, VmHWM ${fmt.mib(x.gatewayHwm)}${x.hwmOver ? ' (over)' : ''}`;
  return x.rssOver === 0
    ? `no sample over the limit (${fmt.int(x.rssSamples)} samples; ${peak})`
    : `**${x.rssOver} of ${fmt.int(x.rssSamples)} samples over the limit** (${peak})`;
}

function overloadSection(s, r) {
  return [
    `### ${s.title}`,
    '',
    table(
      [
        [
          'offered',
          (x) =>
            x.flood
              ? `unpaced: ${x.workers} connections, ${x.flood.batch} records (${fmt.mib(x.requestBytes)}) per request`
              : `${fmt.int(x.offered)} rec/s = ${x.factor} x Green ${fmt.int(x.capacity)}/s, ${x.workers} client workers`,
          'l',
        ],
        ['acked rec/s', (x) => fmt.int(x.recordsPerSec)],
        ['p50 / p99 / max ms', (x) => `${fmt.ms(x.p50)} / ${fmt.ms(x.p99)} / ${fmt.ms(x.max)}`],
        [
          'gateway RSS max',
          (x) =>
            fmt.mib(x.rssMax) +
            (x.memoryLimitMib ? ` of memory_limit_mib ${x.memoryLimitMib} (${((100 * x.rssMax) / (x.memoryLimitMib * 2 ** 20)).toFixed(0)} %)` : ''),
        ],
        ['RSS samples over memory_limit_mib (VmRSS every 100 ms)', (x) => rssVerdict(x), 'l'],
        ['somatic WAL debt max / at end (records)', (x) => (x.memoryLimitMib ? `${fmt.int(x.debtMax)} / ${fmt.int(x.debtAtEnd ?? 0)}` : 'n/a')],
        ['refused records (receiver)', (x) => fmt.int(x.refusedRecords)],
        ['client refusals / retries / failed', (x) => `${fmt.int(x.refused)} / ${fmt.int(x.retried)} / ${fmt.int(x.failed)}`],
        ['zones seen', (x) => (x.zonesSeen.length ? x.zonesSeen.join(', ') : 'n/a (no somatic controller)'), 'l'],
        ['acked, not yet at sink, at client end', (x) => fmt.int(x.pendingAtEnd)],
        ['drain after client end', (x) => `${x.drainSec.toFixed(1)} s`],
        ['loss check (after drain + stop)', (x) => lossCell(x.loss)],
        ['CPU cores used', (x) => cpuText(x)],
        ['load avg', (x) => x.load, 'l'],
      ],
      [r],
    ),
    '',
    `Timeline (sampled every 250 ms from the gateway's /metrics and /proc; one row per second). Plot: [${r.svgFile.replace(/^.*\/bench\//, '')}](${r.svgFile.replace(/^.*\/bench\//, '')}).`,
    '',
    timelineTable(r),
    ...(Object.keys(r.failures ?? {}).length
      ? [
          '',
          'Client failures: ' +
            Object.entries(r.failures)
              .map(([k, n]) => `${n} x ${k}`)
              .join('; '),
        ]
      : []),
  ].join('\n');
}

async function main() {
  let parsed;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`run-all: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help) return (process.stdout.write(USAGE), 0);
  if (parsed.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(18)} ${s.pending ? '[pending] ' : ''}${s.title}\n`);
    return 0;
  }
  if (parsed.opts.light) return mainLight(parsed);
  let scenarios;
  try {
    scenarios = plan(parsed.names);
  } catch (e) {
    process.stderr.write(`run-all: ${e.message}\n`);
    return 2;
  }
  const { opts } = parsed;
  const started = new Date();
  const loadBefore = loadavg();
  const command = commandLine();
  const results = new Map();
  const ctx = { opts, results };
  const done = [];
  const skipped = [];
  const failed = [];
  // Throughput scenarios run in rounds (all of them once per round, in registry order), so a burst of
  // load from other jobs on this shared machine hits every scenario alike; each reports its median round.
  const runs = new Map();
  const runOne = async (s, round) => {
    const unmet = (s.needs ?? []).filter((n) => !results.has(n) && !runs.get(n)?.length && !scenarios.find((x) => x.name === n)?.pending);
    if (unmet.length) throw new Error(`skipped: ${unmet.join(', ')} did not produce a result`);
    process.stderr.write(`[bench] ${stamp()} ${s.name}${round ? ` (round ${round}/${opts.repeat})` : ''}: ${s.title} (load ${loadavg()})\n`);
    const res = await s.run(ctx);
    const line =
      s.kind === 'external'
        ? `done in ${res.elapsedSec.toFixed(0)} s`
        : s.kind === 'overload'
          ? `acked ${fmt.int(res.recordsPerSec)}/s, RSS max ${fmt.mib(res.rssMax)}, ${rssVerdict(res)}`
          : `${fmt.int(res.recordsPerSec)} records/s, p99 ${fmt.ms(res.p99)} ms`;
    process.stderr.write(`[bench]   -> ${line}${res.loss ? `, ${lossCell(res.loss)}` : ''}\n`);
    return res;
  };
  const runnable = scenarios.filter((s) => !s.pending);
  skipped.push(...scenarios.filter((s) => s.pending));
  const tput = runnable.filter((s) => !s.kind);
  const errors = new Map();
  for (let round = 1; round <= opts.repeat; round++) {
    for (const s of tput) {
      try {
        const res = await runOne(s, opts.repeat > 1 ? round : 0);
        runs.set(s.name, [...(runs.get(s.name) ?? []), res]);
      } catch (e) {
        errors.set(s.name, e.message);
        process.stderr.write(`[bench]   -> FAILED: ${e.stack ?? e.message}\n`);
      }
    }
  }
  for (const s of tput) {
    const rs = (runs.get(s.name) ?? []).slice().sort((a, b) => a.recordsPerSec - b.recordsPerSec);
    if (!rs.length) {
      failed.push({ s, error: errors.get(s.name) ?? 'no result' });
      continue;
    }
    // Loss over every round: a loss in any round is a loss.
    const loss = rs.every((r) => r.loss)
      ? {
          ok: rs.every((r) => r.loss.ok),
          lost: rs.reduce((a, r) => a + r.loss.lost, 0),
          acked: rs.reduce((a, r) => a + r.loss.acked, 0),
          duplicates: rs.reduce((a, r) => a + r.loss.duplicates, 0),
        }
      : undefined;
    // Each round's p99 in round order: a latency target is judged on their median, not on the p99 of
    // whichever round had the median throughput.
    const p99Rounds = (runs.get(s.name) ?? []).map((r) => r.p99);
    const med = {
      ...rs[Math.floor((rs.length - 1) / 2)],
      rounds: rs.length,
      min: rs[0].recordsPerSec,
      maxRate: rs[rs.length - 1].recordsPerSec,
      loss,
      p99Rounds,
    };
    results.set(s.name, med);
    done.push({ scenario: s, res: med });
  }
  for (const s of runnable.filter((x) => x.kind === 'overload' || x.kind === 'external')) {
    try {
      const res = await runOne(s, 0);
      results.set(s.name, res);
      done.push({ scenario: s, res });
    } catch (e) {
      failed.push({ s, error: e.message });
      process.stderr.write(`[bench]   -> FAILED: ${e.stack ?? e.message}\n`);
    }
  }

  // Profile the gateway when asked, or when passthrough falls short of the target.
  const profiles = [];
  for (const proto of ['http', 'grpc']) {
    const p = results.get(`passthrough-${proto}`);
    const r = ratio(p, results.get(`forwarder-${proto}`));
    if (!p || opts.noProfile || !(opts.profile || r < TARGET_VS_FORWARDER)) continue;
    process.stderr.write(`[bench] ${stamp()} profiling passthrough-${proto} (ratio ${fmt.ratio(r)} vs target ${TARGET_VS_FORWARDER})\n`);
    try {
      const profileDir = await mkdtemp(join(os.tmpdir(), 'gophership-prof-'));
      const sc = passthrough(proto);
      const res = await sc.run({ opts: { ...opts, cpuProf: true, profileDir }, results });
      const file = res.profiles?.[0];
      if (!file) throw new Error('no .cpuprofile written');
      process.stderr.write(`[bench]   -> profile: ${file}\n`);
      const summary = await summariseProfile(file, 20);
      profiles.push({ proto, file, r, res, md: profileMarkdown(summary, `passthrough-${proto} under --cpu-prof, ${fmt.int(res.recordsPerSec)} records/s`) });
    } catch (e) {
      process.stderr.write(`[bench]   -> profile FAILED: ${e.message}\n`);
    }
  }

  const loadAfter = loadavg();
  const tputRows = done.filter((d) => !d.scenario.kind);
  const overLimit = done.filter((d) => d.scenario.kind === 'overload' && d.res.rssOver > 0);
  const md = [
    `## ${stamp(started)} — ${scenarios
      .filter((s) => !s.pending)
      .map((s) => s.name)
      .join(', ')}`,
    '',
    `Command: \`${command}\``,
    '',
    machineBlock(loadBefore, loadAfter),
    '',
    `Workload: OTLP logs, ${opts.batch} records per request, ~${Math.round(434 + (opts.bodySize - 246))} bytes per record (body ${opts.bodySize} chars, 4 attributes), ` +
      `${opts.workers} connections each with one request in flight (closed loop), ${opts.warmupMs / 1000}s warm-up + ${opts.durationMs / 1000}s measured per scenario. ` +
      `Client (loadgen), server under test and sink are separate Node processes on the same 2 cores, so they compete for CPU: read "CPU cores used" ` +
      `(process CPU seconds / wall seconds, from /proc) next to records/s. Passthrough batch config: the batch processor's defaults (\`batch: {}\` = 8192 items / 200 ms, flush_when_idle true); exporters use compression none. ` +
      `Overload pipeline: \`${JSON.stringify(OVERLOAD_PROCESSORS)}\`.`,
    '',
    ...(tputRows.length ? [throughputTable(tputRows, results), ''] : []),
    ...tputRows
      .filter((d) => d.scenario.name.startsWith('passthrough'))
      .map((d) => {
        const proto = d.scenario.name.split('-')[1];
        const r = ratio(d.res, results.get(`forwarder-${proto}`));
        const per = (runs.get(d.scenario.name) ?? []).map((x, i) => ratio(x, runs.get(`forwarder-${proto}`)?.[i]));
        return `${d.scenario.name}: ${fmt.ratio(r)} of the forwarding floor (target ${TARGET_VS_FORWARDER}) — ${r >= TARGET_VS_FORWARDER ? 'meets the target' : '**below the target**'}; per round: ${per.map(fmt.ratio).join(', ')}.`;
      }),
    ...targetLines(results),
    ...done.filter((d) => d.scenario.kind === 'overload').flatMap((d) => ['', overloadSection(d.scenario, d.res)]),
    ...done.filter((d) => d.scenario.kind === 'external').flatMap((d) => ['', `### ${d.scenario.title}`, '', d.res.markdown.trim()]),
    ...profiles.flatMap((p) => ['', `### Gateway CPU profile: passthrough-${p.proto}`, '', p.md]),
    ...(skipped.length ? ['', 'Pending scenarios (extension points, not run): ' + skipped.map((s) => `\`${s.name}\` (${s.title})`).join('; ') + '.'] : []),
    ...(failed.length ? ['', 'Failed: ' + failed.map((f) => `\`${f.s.name}\`: ${f.error}`).join('; ')] : []),
    ...overLimit.map((d) => `\nMemory limit broken: \`${d.scenario.name}\`: ${rssVerdict(d.res)}.`),
  ].join('\n');
  process.stdout.write(md + '\n');
  if (!opts.noResults) {
    await appendResults(md);
    process.stderr.write(`[bench] appended to bench/RESULTS.md\n`);
  }
  // An RSS sample over memory_limit_mib fails the run like a failed scenario (issue 17's promise).
  return failed.length || overLimit.length ? 1 : 0;
}

/** `--light`: the light rows in rounds, then the disk ceiling beside Red; one table, appended like the rest. */
async function mainLight({ names, opts }) {
  const started = new Date();
  const loadBefore = loadavg();
  const log = (line) => process.stderr.write(`[bench] ${stamp()} ${line}\n`);
  let light;
  try {
    light = await runLight(names, { ...opts, cpuProf: opts.profile }, log);
  } catch (e) {
    process.stderr.write(`run-all: ${e.message}\n`);
    return 2;
  }
  const extra = [];
  const red = light.summary.get('zone-red');
  if (red) {
    log('disk-ceiling (beside zone-red)');
    try {
      const disk = await diskCeiling(3).run();
      const fwd = light.summary.get('forwarder-http');
      extra.push('', `### ${diskCeiling(3).title}`, '', disk.markdown.trim(), '');
      extra.push(
        `disk-ceiling: ${fmt.mb(disk.bytesPerSec)} MB/s durable; zone-red moved ${fmt.mb(red.bytesPerSec)} MB/s (${fmt.ratio(red.bytesPerSec / disk.bytesPerSec)} of it), forwarder-http ${fmt.mb(fwd?.bytesPerSec)} MB/s.`,
      );
    } catch (e) {
      extra.push('', `disk-ceiling FAILED: ${e.message}`);
    }
    log('red-floor (beside zone-red)');
    try {
      const floor = await redFloor(6).run();
      extra.push('', `### ${redFloor(6).title}`, '', floor.markdown.trim(), '');
      extra.push(
        `red-floor: the WAL alone took ${fmt.rate(floor.recordsPerSec)} records/s under Red's closed loop with no HTTP; zone-red reached ${fmt.ratio(red.recordsPerSec / floor.recordsPerSec)} of it.`,
      );
    } catch (e) {
      extra.push('', `red-floor FAILED: ${e.message}`);
    }
  }
  const profiles = [...light.summary.values()].flatMap((s) => s.profiles.map((f) => `${s.row.name}: ${f}`));
  const md = [
    `## ${stamp(started)} — light mode: ${[...light.summary.keys()].join(', ')}`,
    '',
    `Command: \`${commandLine()}\``,
    '',
    machineBlock(loadBefore, loadavg()),
    '',
    light.markdown,
    ...extra,
    ...(profiles.length ? ['', 'CPU profiles (--profile): ' + profiles.join('; ')] : []),
  ].join('\n');
  process.stdout.write(md + '\n');
  if (!opts.noResults) {
    await appendResults(md);
    log('appended to bench/RESULTS.md');
  }
  return light.failed ? 1 : 0;
}

process.exitCode = await main();
