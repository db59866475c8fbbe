/** The fuzz harness: every parser of the gateway fed random and mutated input (see docs/security.md). */
export { localTargets, assertReadable, decodedItems, BrokenPromise, type FuzzTarget } from './local-targets.js';
export { networkTargets } from './net-targets.js';
export { seedsFromJson, type Seeds, type JsonSeeds } from './inputs.js';
export { runFuzz, CaseHang, type FuzzOptions, type FuzzResult, type FuzzFailureKind } from './run.js';
