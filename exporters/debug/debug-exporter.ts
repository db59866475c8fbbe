/**
 * Debug exporter, after the collector's: `basic` logs one structured line per request with counts taken
 * by a wire scan (no decode); `normal` adds one text line per item and `detailed` the whole request as
 * OTLP/JSON, both written to stdout (the structured log goes to stderr).
 */
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import { PermanentError, componentLabel } from '../../src/core/errors.js';
import type { Payload } from '../../src/pdata/payload.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import type { Signal } from '../../src/core/signal.js';
import { countField, countItems, forEachField } from '../../src/pdata/wire.js';
import { requestToJson } from '../../src/pdata/codec.js';
import type { DebugExporterConfig } from './config.js';
import { outputSink } from '../../src/telemetry/logger.js';

export interface TextSink {
  write(text: string): unknown;
}

const SUMMARY: Record<Signal, { msg: string; resources: string; items: string }> = {
  logs: { msg: 'LogsExporter', resources: '#resource logs', items: '#log records' },
  traces: { msg: 'TracesExporter', resources: '#resource spans', items: '#spans' },
  metrics: { msg: 'MetricsExporter', resources: '#resource metrics', items: '#data points' },
};

/** Counts Metric messages (request > ResourceMetrics=1 > ScopeMetrics=2 > Metric=2). */
function countMetrics(buf: Uint8Array): number {
  let n = 0;
  forEachField(buf, 0, buf.length, 1, (rs, re) => {
    forEachField(buf, rs, re, 2, (ss, se) => {
      n += countField(buf, ss, se, 2);
    });
  });
  return n;
}

/** The counts the basic line shows, from a wire scan. */
export function summarize(signal: Signal, bytes: Uint8Array): Record<string, number> {
  const names = SUMMARY[signal];
  const out: Record<string, number> = { [names.resources]: countField(bytes, 0, bytes.length, 1) };
  if (signal === 'metrics') out['#metrics'] = countMetrics(bytes);
  out[names.items] = countItems(signal, bytes);
  return out;
}

/** Counts log lines per wall-clock second, as the collector's sampled logger does. */
class Sampler {
  private second = -1;
  private count = 0;
  constructor(
    private readonly initial: number,
    private readonly thereafter: number,
  ) {}
  take(): boolean {
    const sec = Math.floor(Date.now() / 1000);
    if (sec !== this.second) {
      this.second = sec;
      this.count = 0;
    }
    this.count++;
    if (this.count <= this.initial) return true;
    return (this.count - this.initial) % this.thereafter === 0;
  }
}

export class DebugExporter implements Exporter {
  private readonly sampler: Sampler;
  private readonly out: TextSink;
  /** Where everything goes when use_internal_logger is false. */
  private readonly own: TextSink | undefined;
  private readonly helper: ExporterHelper;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: DebugExporterConfig,
    out?: TextSink,
  ) {
    // use_internal_logger: false sends everything, summaries included, to output_paths, unsampled (the
    // collector samples only through its internal logger).
    this.own = config.use_internal_logger ? undefined : (out ?? outputSink(config.output_paths));
    this.out = out ?? this.own ?? process.stdout;
    this.sampler = new Sampler(config.sampling_initial, config.sampling_thereafter);
    this.helper = new ExporterHelper(settings, config, (p, s) => this.send(p, s));
  }

  async start(_host?: Host): Promise<void> {
    await this.helper.start();
  }

  /** Prints one request; always succeeds unless the bytes are malformed. */
  async send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    if (this.own === undefined && !this.sampler.take()) return;
    const bytes = payload.bytes;
    let counts: Record<string, number>;
    try {
      counts = summarize(signal, bytes);
    } catch (err) {
      throw new PermanentError(`${componentLabel(this.settings)}: malformed ${signal} request: ${(err as Error).message}`, {
        cause: err,
        code: 'GS_REQUEST_MALFORMED',
      });
    }
    if (this.own) this.own.write(`${new Date().toISOString()}\tinfo\t${SUMMARY[signal].msg}\t${JSON.stringify(counts)}\n`);
    else this.settings.logger.info(SUMMARY[signal].msg, counts);
    if (this.config.verbosity === 'basic') return;
    const json = requestToJson(signal, bytes);
    if (this.config.verbosity === 'detailed') {
      this.out.write(json + '\n');
      return;
    }
    const lines: string[] = [];
    normalLines(signal, JSON.parse(json) as Json, lines);
    if (lines.length > 0) this.out.write(lines.join('\n') + '\n');
  }

  /** Metrics (and a queue or retries, if configured): the shared exporterhelper around send(). */
  consume(payload: Payload): Promise<void> {
    return this.helper.consume(payload);
  }

  async shutdown(deadlineAt?: number): Promise<void> {
    await this.helper.shutdown(deadlineAt);
  }
}

// ---------------------------------------------------------------------------------------------------
// normal verbosity: one line per item, read from OTLP/JSON (spec field names), so it needs no generated types.

type Json = any;

function anyValue(v: Json): string {
  if (v === undefined || v === null) return '';
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return String(v.boolValue);
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('bytesValue' in v) return String(v.bytesValue);
  if ('arrayValue' in v) return `[${((v.arrayValue?.values ?? []) as Json[]).map(anyValue).join(', ')}]`;
  if ('kvlistValue' in v) return `{${attrs(v.kvlistValue?.values)}}`;
  return '';
}

function attrs(list: Json[] | undefined): string {
  if (!list || list.length === 0) return '';
  return list.map((kv) => `${kv.key}=${anyValue(kv.value)}`).join(' ');
}

function time(nanos: string | number | undefined): string {
  if (nanos === undefined || nanos === '0' || nanos === 0) return '-';
  try {
    return new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString();
  } catch {
    return String(nanos);
  }
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join(' ');
}

export function normalLines(signal: Signal, req: Json, out: string[]): void {
  if (signal === 'logs') {
    for (const rl of req.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? [])
        for (const r of sl.logRecords ?? [])
          out.push(
            join(time(r.timeUnixNano ?? r.observedTimeUnixNano), r.severityText || String(r.severityNumber ?? ''), anyValue(r.body), attrs(r.attributes)),
          );
  } else if (signal === 'traces') {
    for (const rs of req.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const sp of ss.spans ?? []) {
          let dur = '';
          try {
            dur = `${Number(BigInt(sp.endTimeUnixNano ?? 0) - BigInt(sp.startTimeUnixNano ?? 0)) / 1e6}ms`;
          } catch {
            // Unparseable times: leave the duration out.
          }
          out.push(join(sp.name ?? '', sp.traceId ?? '', sp.spanId ?? '', dur, attrs(sp.attributes)));
        }
  } else {
    for (const rm of req.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? []) {
          const kind = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'].find((k) => m[k] !== undefined);
          for (const dp of kind ? (m[kind].dataPoints ?? []) : []) {
            const value = dp.asInt ?? dp.asDouble ?? (dp.count !== undefined ? `count=${dp.count} sum=${dp.sum ?? ''}` : '');
            out.push(join(`${m.name}${kind ? ` (${kind})` : ''}`, attrs(dp.attributes), String(value)));
          }
        }
  }
}
