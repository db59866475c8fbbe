/** The loss-checking sink: programmatic API and CLI entry. */
export { startSink } from './sink.js';
export type { Sink, SinkOptions, SinkStats, SignalStats } from './sink.js';
export { parseAckedFile } from './tracker.js';
export type { VerifyReport, RunVerification } from './tracker.js';
export { runSinkCli, SINK_USAGE } from './cli.js';
