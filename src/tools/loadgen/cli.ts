/** `gophership loadgen ...`: flags -> runLoadgen, live progress on a TTY, summary table or JSON. */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isSignal } from '../../core/signal.js';
import { defaultIo, parseDurationFlag, parseNumberFlag, type AckedFile, type CliIo } from './common.js';
import { PROTOCOLS, runLoadgen, type LoadgenOptions, type LoadgenProgress, type LoadgenResult, type Protocol } from './loadgen.js';

export const LOADGEN_USAGE = `Usage: gophership loadgen [flags]

Sends numbered OTLP records to an endpoint and reports what was acknowledged.
Every record carries the attribute gophership.seq (a unique int) and its resource carries
gophership.run (the run id), so \`gophership sink --verify\` can check for loss.

Flags:
  --signal S          logs | traces | metrics                      (default logs)
  --protocol P        http/protobuf | http/json | grpc             (default http/protobuf)
  --endpoint E        HTTP base URL, or host:port for grpc
                      (default http://127.0.0.1:4318, grpc 127.0.0.1:4317)
  --gzip              compress requests (HTTP Content-Encoding / gRPC grpc-encoding gzip)
  --rate N            records per second (default: as fast as possible)
  --duration D        how long to send, e.g. 10s, 2m (default 10s unless --count)
  --warmup D          send this long first, left out of the figures (default 0; needs --duration)
  --count N           send exactly N records
  --workers N         concurrent requests in flight (default 8)
  --batch N           records per request (default 1000; about rate/20 for low rates)
  --body-size N       characters per log body (default 256)
  --attributes N      extra attributes per record (default 4)
  --run-id ID         run id (default: random)
  --seq-start N       first sequence number (default 0)
  --header K=V        extra request header / gRPC metadata (repeatable)
  --timeout D         per-attempt deadline (default 30s)
  --max-attempts N    attempts per request before giving up (default 20)
  --max-elapsed D     give up on a request after this long (default 60s)
  --acked-file F      write the acknowledged sequence ranges as JSON (for sink --verify)
  --json              print the result as JSON instead of a table
  --quiet             no live progress line
  --help              this text

Exit code: 0 when every sent record was acknowledged, 1 when some failed (in the warm-up too), 2 on bad flags.
`;

function fmtNum(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function progressLine(p: LoadgenProgress): string {
  return (
    `[${(p.elapsedMs / 1000).toFixed(0).padStart(4)}s] rate ${fmtNum(p.rate).padStart(7)}/s  acked ${fmtNum(p.acked).padStart(7)}` +
    `  refused ${fmtNum(p.refused)}  retried ${fmtNum(p.retried)}  errors ${fmtNum(p.errors)}  failed ${fmtNum(p.failed)}  p99 ${p.p99Ms.toFixed(1)} ms`
  );
}

export function summaryTable(r: LoadgenResult): string {
  const rows: Array<[string, string]> = [
    ['run id', r.runId],
    ['signal / protocol', `${r.signal} / ${r.protocol}${r.gzip ? ' + gzip' : ''}`],
    ['endpoint', r.endpoint],
    ['workers x batch', `${r.workers} x ${r.batch}`],
    ['elapsed (measured)', `${(r.elapsedMs / 1000).toFixed(2)} s`],
    ...(r.warmupAcked + r.warmupFailed > 0
      ? [['records in the warm-up, not counted below: acked / failed', `${r.warmupAcked} / ${r.warmupFailed}`] as [string, string]]
      : []),
    ['records sent', String(r.sent)],
    ['records acked', String(r.acked)],
    ['records rejected (partial success)', String(r.rejected)],
    ['records failed', String(r.failed)],
    ['requests (attempts)', String(r.requests)],
    ['requests refused (retryable)', String(r.refused)],
    ['requests with network errors', String(r.errors)],
    ['retries', String(r.retried)],
    ['acked records/s', fmtNum(r.recordsPerSec)],
    ['bytes sent', `${fmtBytes(r.bytes)} (${fmtBytes(r.bytesPerSec)}/s)`],
    [
      'latency p50 / p90 / p99 / max',
      `${r.latencyMs.p50.toFixed(1)} / ${r.latencyMs.p90.toFixed(1)} / ${r.latencyMs.p99.toFixed(1)} / ${r.latencyMs.max.toFixed(1)} ms`,
    ],
    ['acked ranges', String(r.ackedRanges.length)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const v = Math.max(...rows.map(([, x]) => x.length));
  const lines = [`| ${'metric'.padEnd(w)} | ${'value'.padEnd(v)} |`, `|${'-'.repeat(w + 2)}|${'-'.repeat(v + 2)}|`];
  for (const [k, x] of rows) lines.push(`| ${k.padEnd(w)} | ${x.padEnd(v)} |`);
  const failures = Object.entries(r.failures);
  if (failures.length) {
    lines.push('', 'failures:');
    for (const [reason, n] of failures) lines.push(`  ${n} x ${reason}`);
  }
  return lines.join('\n') + '\n';
}

export function parseLoadgenArgs(argv: string[]): { options: LoadgenOptions; json: boolean; quiet: boolean; ackedFile?: string; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      signal: { type: 'string' },
      protocol: { type: 'string' },
      endpoint: { type: 'string' },
      gzip: { type: 'boolean' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      count: { type: 'string' },
      workers: { type: 'string' },
      batch: { type: 'string' },
      'body-size': { type: 'string' },
      attributes: { type: 'string' },
      'run-id': { type: 'string' },
      'seq-start': { type: 'string' },
      header: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      'max-attempts': { type: 'string' },
      'max-elapsed': { type: 'string' },
      'acked-file': { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const o: LoadgenOptions = {};
  if (values.signal !== undefined) {
    if (!isSignal(values.signal)) throw new Error(`--signal: expected logs, traces or metrics, got "${values.signal}"`);
    o.signal = values.signal;
  }
  if (values.protocol !== undefined) {
    if (!PROTOCOLS.includes(values.protocol as Protocol)) throw new Error(`--protocol: expected ${PROTOCOLS.join(', ')}, got "${values.protocol}"`);
    o.protocol = values.protocol as Protocol;
  }
  if (values.endpoint !== undefined) o.endpoint = values.endpoint;
  if (values.gzip) o.gzip = true;
  if (values.rate !== undefined) o.rate = parseNumberFlag('rate', values.rate, { min: 0 });
  if (values.duration !== undefined) o.durationMs = parseDurationFlag('duration', values.duration);
  if (values.warmup !== undefined) {
    if (values.duration === undefined || values.count !== undefined) throw new Error('--warmup: needs --duration (and no --count)');
    o.warmupMs = parseDurationFlag('warmup', values.warmup);
  }
  if (values.count !== undefined) o.count = parseNumberFlag('count', values.count, { integer: true, min: 0 });
  if (values.workers !== undefined) o.workers = parseNumberFlag('workers', values.workers, { integer: true, min: 1, max: 10000 });
  if (values.batch !== undefined) o.batch = parseNumberFlag('batch', values.batch, { integer: true, min: 1, max: 1_000_000 });
  if (values['body-size'] !== undefined) o.bodySize = parseNumberFlag('body-size', values['body-size'], { integer: true, min: 0, max: 16 << 20 });
  if (values.attributes !== undefined) o.attributes = parseNumberFlag('attributes', values.attributes, { integer: true, min: 0, max: 1000 });
  if (values['run-id'] !== undefined) o.runId = values['run-id'];
  if (values['seq-start'] !== undefined)
    o.seqStart = parseNumberFlag('seq-start', values['seq-start'], { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  if (values.timeout !== undefined) o.timeoutMs = parseDurationFlag('timeout', values.timeout);
  if (values['max-attempts'] !== undefined) o.maxAttempts = parseNumberFlag('max-attempts', values['max-attempts'], { integer: true, min: 1 });
  if (values['max-elapsed'] !== undefined) o.maxElapsedMs = parseDurationFlag('max-elapsed', values['max-elapsed']);
  if (values.header) {
    o.headers = {};
    for (const h of values.header) {
      const i = h.indexOf('=');
      if (i <= 0) throw new Error(`--header: expected KEY=VALUE, got "${h}"`);
      o.headers[h.slice(0, i).trim()] = h.slice(i + 1);
    }
  }
  const r: { options: LoadgenOptions; json: boolean; quiet: boolean; ackedFile?: string; help: boolean } = {
    options: o,
    json: Boolean(values.json),
    quiet: Boolean(values.quiet),
    help: Boolean(values.help),
  };
  if (values['acked-file'] !== undefined) r.ackedFile = values['acked-file'];
  return r;
}

export async function runLoadgenCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let parsed: ReturnType<typeof parseLoadgenArgs>;
  try {
    parsed = parseLoadgenArgs(argv);
  } catch (e) {
    io.err(`gophership loadgen: ${(e as Error).message}\n\n${LOADGEN_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    io.out(LOADGEN_USAGE);
    return 0;
  }
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      io.err('\nstopping: finishing requests in flight (interrupt again to quit now)\n');
      ac.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const showProgress = io.tty && !parsed.quiet;
  let result: LoadgenResult;
  try {
    result = await runLoadgen({
      ...parsed.options,
      abort: ac.signal,
      ...(showProgress ? { onProgress: (p: LoadgenProgress) => io.err(`\r\x1b[2K${progressLine(p)}`) } : {}),
    });
  } catch (e) {
    io.err(`gophership loadgen: ${(e as Error).message}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (showProgress) io.err('\r\x1b[2K');
  if (parsed.ackedFile) {
    const file: AckedFile = { runId: result.runId, signal: result.signal, acked: result.acked, ackedRanges: result.ackedRanges };
    try {
      await writeFile(parsed.ackedFile, JSON.stringify(file) + '\n');
    } catch (e) {
      io.err(`gophership loadgen: --acked-file ${parsed.ackedFile}: cannot write (${(e as Error).message})\n`);
      return 2;
    }
  }
  io.out(parsed.json ? JSON.stringify(result, null, 2) + '\n' : summaryTable(result));
  return result.failed > 0 || result.rejected > 0 || result.warmupFailed > 0 ? 1 : 0;
}
