/**
 * Structured logs: one JSON object per line on stderr (stdout stays free for the debug exporter and CLI
 * output), with the level set by service.telemetry.logs.level.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface LogSink {
  write(line: string): void;
}

export class Logger {
  private readonly min: number;
  constructor(
    readonly level: LogLevel = 'info',
    private readonly fields: LogFields = {},
    private readonly sink: LogSink = process.stderr,
  ) {
    this.min = RANK[level];
  }

  /** A logger that adds `fields` to every line (e.g. the component ID). */
  child(fields: LogFields): Logger {
    return new Logger(this.level, { ...this.fields, ...fields }, this.sink);
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

  private emit(level: LogLevel, msg: string, fields?: LogFields): void {
    const rec: LogFields = { ts: new Date().toISOString(), level, msg, ...this.fields, ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = v.message;
    this.sink.write(JSON.stringify(rec) + '\n');
  }
}

/** A logger that writes nothing (tests, tools). */
export const silentLogger = new Logger('error', {}, { write: () => {} });
