/** The load generator: programmatic API and CLI entry. */
export { runLoadgen, defaultEndpoint, newRunId, PROTOCOLS } from './loadgen.js';
export type { LoadgenOptions, LoadgenResult, LoadgenProgress, Protocol } from './loadgen.js';
export { runFlood, floodBody } from './flood.js';
export type { FloodOptions, FloodResult } from './flood.js';
export { runLoadgenCli, LOADGEN_USAGE, summaryTable } from './cli.js';
export { SEQ_KEY, RUN_KEY } from './common.js';
export type { AckedFile, SeqRanges } from './common.js';
