/**
 * The write-ahead log shared by every durable part of GopherShip (somatic debt, persistent exporter
 * queues). It stores bytes, not payloads. See README.md for the format, invariants and options.
 */
export { WriteAheadLog } from './wal.js';
export type { FsyncPolicy, WalOptions, WalRecord, WalStats } from './wal.js';
export { metaNumber, type Meta } from './format.js';
export { nodeFileSystem, isNoSpace, type WalFile, type WalFileSystem, type VolumeSpace } from './file-system.js';
