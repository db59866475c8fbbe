/**
 * Structured logs through pino: one JSON object per line (or the collector's console encoding), on stderr
 * by default (stdout stays free for the debug exporter and CLI output). Errors keep their stack and
 * `cause` chain; secret fields (authorization, password, token, ...) are redacted wherever they appear in
 * the top level of a line and one level down. `service.telemetry.logs` sets level, encoding, sampling, output paths and
 * the fields every line carries (Logger.fromConfig).
 */
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger as PinoLogger } from 'pino';
import type { TelemetryLogsConfig } from './config.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface LogSink {
  write(line: string): void;
}

/** Field names whose values never reach a log line (as the collector's configopaque keeps them out). */
export const REDACTED_FIELDS = [
  'authorization',
  'Authorization',
  'password',
  'passwd',
  'token',
  'access_token',
  'bearer_token',
  'api_key',
  'apikey',
  'secret',
  'client_secret',
  'cookie',
  'set-cookie',
  'x-api-key',
];
/** The redaction paths: each field at the top of a line and one level down (`headers.authorization`). */
const REDACT_PATHS = REDACTED_FIELDS.flatMap((f) => (/^\w+$/.test(f) ? [f, `*.${f}`] : [`["${f}"]`, `*["${f}"]`]));

export interface LoggerOptions {
  encoding?: 'json' | 'console';
  /** zap-style sampling per level and message: the first `initial` lines per tick, then every `thereafter`th. */
  sampling?: { tick: number; initial: number; thereafter: number };
  /** Leave error stacks out of the lines. */
  disableStacktrace?: boolean;
}

/** An Error as a plain object: type, message, code, stack and its `cause` chain (depth-limited). */
export function serializeError(err: Error, withStack = true, depth = 0): LogFields {
  const out: LogFields = { type: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (withStack && err.stack) out.stack = err.stack;
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined && depth < 5) out.cause = cause instanceof Error ? serializeError(cause, withStack, depth + 1) : cause;
  return out;
}

/** Per (level, message) counts within the current tick, as zap's sampler keeps them. */
class Sampler {
  private tick = -1;
  private readonly counts = new Map<string, number>();
  constructor(private readonly opts: NonNullable<LoggerOptions['sampling']>) {}
  take(level: string, msg: string): boolean {
    const tick = this.opts.tick > 0 ? Math.floor(Date.now() / this.opts.tick) : 0;
    if (tick !== this.tick) {
      this.tick = tick;
      this.counts.clear();
    }
    const key = `${level}\0${msg}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n <= this.opts.initial) return true;
    return this.opts.thereafter > 0 && (n - this.opts.initial) % this.opts.thereafter === 0;
  }
}

/** The collector's console encoding: time, level, message, then the fields as JSON, tab-separated. */
function toConsole(line: string): string {
  try {
    const { ts, level, msg, ...fields } = JSON.parse(line) as LogFields;
    const rest = Object.keys(fields).length > 0 ? `\t${JSON.stringify(fields)}` : '';
    return `${String(ts)}\t${String(level)}\t${String(msg)}${rest}\n`;
  } catch {
    return line;
  }
}

export class Logger {
  private readonly min: number;
  private readonly pino: PinoLogger;
  private readonly sampler: Sampler | undefined;
  private readonly withStack: boolean;

  constructor(
    readonly level: LogLevel = 'info',
    fields: LogFields = {},
    sink: LogSink = process.stderr,
    private readonly options: LoggerOptions = {},
    /** A child shares its parent's pino instance and sampler. */
    parent?: { pino: PinoLogger; sampler: Sampler | undefined },
  ) {
    this.min = RANK[level];
    this.withStack = !options.disableStacktrace;
    if (parent) {
      this.pino = parent.pino.child(fields);
      this.sampler = parent.sampler;
      return;
    }
    const encode = options.encoding === 'console' ? toConsole : (line: string) => line;
    this.pino = pino(
      {
        level,
        base: this.prepare(fields),
        messageKey: 'msg',
        timestamp: () => `,"ts":"${new Date().toISOString()}"`,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      },
      { write: (line: string) => sink.write(encode(line)) },
    );
    this.sampler = options.sampling ? new Sampler(options.sampling) : undefined;
  }

  /** The logger `service.telemetry.logs` asks for, writing to its output paths. */
  static fromConfig(cfg: TelemetryLogsConfig, resource: Record<string, string> = {}): Logger {
    const fields: LogFields = { ...cfg.initial_fields };
    if (Object.keys(resource).length > 0) fields.resource = resource;
    const sampling = cfg.sampling?.enabled ? { tick: cfg.sampling.tick, initial: cfg.sampling.initial, thereafter: cfg.sampling.thereafter } : undefined;
    return new Logger(cfg.level, fields, outputSink(cfg.output_paths, cfg.error_output_paths), {
      encoding: cfg.encoding,
      sampling,
      disableStacktrace: cfg.disable_stacktrace,
    });
  }

  /** A logger that adds `fields` to every line (e.g. the component ID). */
  child(fields: LogFields): Logger {
    return new Logger(this.level, this.prepare(fields), undefined, this.options, { pino: this.pino, sampler: this.sampler });
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.min;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.min <= 10) this.emit('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.min <= 20) this.emit('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.min <= 30) this.emit('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.emit('error', msg, fields);
  }

  /** Errors become plain objects with their stack and cause (pino serializes only the `err` key itself). */
  private prepare(fields: LogFields): LogFields {
    let out: LogFields | undefined;
    for (const [k, v] of Object.entries(fields)) {
      if (v instanceof Error) {
        out ??= { ...fields };
        out[k] = serializeError(v, this.withStack);
      }
    }
    return out ?? fields;
  }

  private emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (this.sampler && !this.sampler.take(level, msg)) return;
    // The message leads the call's fields (after ts, level and the bound fields), as the lines always had it.
    this.pino[level](fields ? { msg, ...this.prepare(fields) } : { msg });
  }
}

/**
 * Where `output_paths` send lines: stderr, stdout or files (appended; written synchronously, so a line
 * logged before a crash is on disk). A path that cannot be written is reported on `error_output_paths`.
 */
export function outputSink(paths: readonly string[], errorPaths: readonly string[] = ['stderr']): LogSink {
  const open = (p: string): ((line: string) => void) => {
    if (p === 'stderr') return (line) => void process.stderr.write(line);
    if (p === 'stdout') return (line) => void process.stdout.write(line);
    mkdirSync(dirname(p), { recursive: true });
    const fd = openSync(p, 'a');
    return (line) => void writeSync(fd, line);
  };
  const reportTo = errorPaths.map((p) => {
    try {
      return open(p);
    } catch {
      return (line: string) => void process.stderr.write(line);
    }
  });
  const report = (message: string) => {
    const line = `${JSON.stringify({ ts: new Date().toISOString(), level: 'error', msg: message })}\n`;
    for (const w of reportTo) w(line);
  };
  const writers = paths.map((p) => {
    try {
      return open(p);
    } catch (err) {
      report(`service.telemetry.logs.output_paths: cannot open ${p}: ${(err as Error).message}`);
      return undefined;
    }
  });
  return {
    write(line) {
      writers.forEach((w, i) => {
        try {
          w?.(line);
        } catch (err) {
          report(`service.telemetry.logs.output_paths: writing ${paths[i]} failed: ${(err as Error).message}`);
        }
      });
    },
  };
}

/** A logger that writes nothing (tests, tools). */
export const silentLogger = new Logger('error', {}, { write: () => {} });
