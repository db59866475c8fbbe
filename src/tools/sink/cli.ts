/** `gophership sink ...`: a discarding OTLP receiver with loss verification and failure simulation. */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultIo, parseDurationFlag, parseHostPort, parseNumberFlag, type CliIo } from '../loadgen/common.js';
import { startSink, type SinkOptions, type SinkStats } from './sink.js';
import { parseAckedFile, type VerifyReport } from './tracker.js';

export const SINK_USAGE = `Usage: gophership sink [flags]

A discarding OTLP receiver (HTTP protobuf/JSON and gRPC, gzip) that counts what it gets and can check a
load generator's acknowledged records for loss and duplication.

Flags:
  --http HOST:PORT    OTLP/HTTP listen address, or "off" (default 127.0.0.1:4318); GET /stats gives counts
  --grpc HOST:PORT    OTLP/gRPC listen address, or "off" (default 127.0.0.1:4317)
  --verify FILE       at stop, check the acked ranges in FILE (from loadgen --acked-file) against what
                      arrived; exit 1 if any acknowledged record is missing
  --exit-after D      stop after this long (e.g. 30s); otherwise on SIGINT/SIGTERM
  --fail-rate R       refuse this fraction (0..1) of requests with --status
  --status N          status of refusals: 503 (default), 429, 400 or 500 (gRPC: the matching code)
  --down-for D        refuse everything for the first D (e.g. 5s)
  --retry-after N     Retry-After seconds on 429/503 (default 1)
  --reply-delay D     answer each request this long after its body arrived (a slow downstream, e.g. 200ms)
  --count-only        do not track sequence numbers (cheaper; --verify then reports everything lost)
  --json              print the final stats (and verification) as JSON
  --quiet             no live progress line
  --help              this text
`;

const REFUSAL_STATUSES = [503, 429, 400, 500, 502, 504];

interface Parsed {
  options: SinkOptions;
  verifyFile?: string;
  exitAfterMs?: number;
  json: boolean;
  quiet: boolean;
  help: boolean;
}

export function parseSinkArgs(argv: string[]): Parsed {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      http: { type: 'string' },
      grpc: { type: 'string' },
      verify: { type: 'string' },
      'exit-after': { type: 'string' },
      'fail-rate': { type: 'string' },
      status: { type: 'string' },
      'down-for': { type: 'string' },
      'retry-after': { type: 'string' },
      'reply-delay': { type: 'string' },
      'count-only': { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const addr = (flag: string, v: string | undefined, def: string): string | false => {
    if (v === undefined) return def;
    if (v === 'off' || v === 'none' || v === '') return false;
    parseHostPort(flag, v); // validates, throws naming the flag
    return v;
  };
  const options: SinkOptions = {
    http: addr('http', values.http, '127.0.0.1:4318'),
    grpc: addr('grpc', values.grpc, '127.0.0.1:4317'),
    track: !values['count-only'],
  };
  if (options.http === false && options.grpc === false) throw new Error('--http and --grpc are both off; nothing to listen on');
  if (values['fail-rate'] !== undefined) options.failRate = parseNumberFlag('fail-rate', values['fail-rate'], { min: 0, max: 1 });
  if (values.status !== undefined) {
    const s = parseNumberFlag('status', values.status, { integer: true });
    if (!REFUSAL_STATUSES.includes(s)) throw new Error(`--status: expected one of ${REFUSAL_STATUSES.join(', ')}, got ${s}`);
    options.status = s;
  }
  if (values['down-for'] !== undefined) options.downForMs = parseDurationFlag('down-for', values['down-for']);
  if (values['retry-after'] !== undefined) options.retryAfterSec = parseNumberFlag('retry-after', values['retry-after'], { integer: true, min: 0 });
  if (values['reply-delay'] !== undefined) options.replyDelayMs = parseDurationFlag('reply-delay', values['reply-delay']);
  const p: Parsed = { options, json: Boolean(values.json), quiet: Boolean(values.quiet), help: Boolean(values.help) };
  if (values.verify !== undefined) p.verifyFile = values.verify;
  if (values['exit-after'] !== undefined) p.exitAfterMs = parseDurationFlag('exit-after', values['exit-after']);
  return p;
}

export function statsText(s: SinkStats): string {
  const lines = ['| signal | requests | records | bytes | refused | invalid |', '|---|---|---|---|---|---|'];
  for (const [name, x] of Object.entries(s.signals)) {
    if (x.requests || x.refused || x.invalid) lines.push(`| ${name} | ${x.requests} | ${x.records} | ${x.bytes} | ${x.refused} | ${x.invalid} |`);
  }
  lines.push(`| total | ${s.totals.requests} | ${s.totals.records} | ${s.totals.bytes} | ${s.totals.refused} | ${s.totals.invalid} |`);
  const runs = Object.entries(s.runs);
  if (runs.length) {
    lines.push('', '| run | records | distinct | duplicates |', '|---|---|---|---|');
    for (const [id, r] of runs) lines.push(`| ${id || '(no run id)'} | ${r.records} | ${r.distinct} | ${r.duplicates} |`);
  }
  if (s.unsequenced) lines.push('', `records without ${'gophership.seq'}: ${s.unsequenced}`);
  return lines.join('\n') + '\n';
}

const fmtRanges = (r: Array<[number, number]>): string => r.map(([a, b]) => (b - a === 1 ? `${a}` : `${a}-${b - 1}`)).join(', ');

export function verifyText(v: VerifyReport): string {
  const lines = [`verification: ${v.ok ? 'OK, nothing acknowledged was lost' : `FAILED, ${v.lost} acknowledged records lost`}`];
  for (const r of v.runs) {
    lines.push(`  run ${r.runId}: acked ${r.acked}, delivered ${r.delivered}, lost ${r.lost}, duplicates ${r.duplicates}, seen but not acked ${r.unacked}`);
    if (r.lost) lines.push(`    lost: ${fmtRanges(r.lostRanges)}${r.lostRanges.length >= 20 ? ', ...' : ''}`);
    if (r.duplicates) lines.push(`    duplicated: ${fmtRanges(r.duplicateRanges)}${r.duplicateRanges.length >= 20 ? ', ...' : ''}`);
  }
  return lines.join('\n') + '\n';
}

export async function runSinkCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseSinkArgs(argv);
  } catch (e) {
    io.err(`gophership sink: ${(e as Error).message}\n\n${SINK_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    io.out(SINK_USAGE);
    return 0;
  }
  let sink;
  try {
    sink = await startSink(parsed.options);
  } catch (e) {
    io.err(`gophership sink: ${(e as Error).message}\n`);
    return 2;
  }
  io.err(`sink listening:${sink.httpUrl ? ` http ${sink.httpUrl}` : ''}${sink.grpcTarget ? ` grpc ${sink.grpcTarget}` : ''}\n`);

  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let ticker: NodeJS.Timeout | undefined;
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (timer) clearTimeout(timer);
      if (ticker) clearInterval(ticker);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (parsed.exitAfterMs !== undefined) timer = setTimeout(stop, parsed.exitAfterMs);
    if (io.tty && !parsed.quiet) {
      let last = 0;
      let lastT = Date.now();
      ticker = setInterval(() => {
        const s = sink.stats();
        const now = Date.now();
        const rate = ((s.totals.records - last) * 1000) / Math.max(1, now - lastT);
        last = s.totals.records;
        lastT = now;
        io.err(
          `\r\x1b[2K[${(s.uptimeMs / 1000).toFixed(0).padStart(4)}s] ${Math.round(rate)} records/s  total ${s.totals.records}  refused ${s.totals.refused}  invalid ${s.totals.invalid}`,
        );
      }, 1000);
    }
  });
  if (io.tty && !parsed.quiet) io.err('\r\x1b[2K');
  await sink.close();
  const stats = sink.stats();

  let report: VerifyReport | undefined;
  if (parsed.verifyFile) {
    try {
      const acked = parseAckedFile(await readFile(parsed.verifyFile, 'utf8'), `--verify ${parsed.verifyFile}`);
      report = sink.verify(acked);
    } catch (e) {
      io.err(`gophership sink: ${(e as Error).message}\n`);
      io.out(parsed.json ? JSON.stringify({ stats }, null, 2) + '\n' : statsText(stats));
      return 2;
    }
  }
  if (parsed.json) io.out(JSON.stringify(report ? { stats, verify: report } : { stats }, null, 2) + '\n');
  else io.out(statsText(stats) + (report ? '\n' + verifyText(report) : ''));
  return report && !report.ok ? 1 : 0;
}
