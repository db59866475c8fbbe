/**
 * The exporterhelper shared by every exporter: sending queue (memory or WAL), retry with backoff, dead
 * letters and the exporter metrics around a one-attempt `send`. See README.md.
 */
export { ExporterHelper, itemsOf, walDirectory, type ExporterHelperOptions, type SendFn } from './helper.js';
export { exporterHelperShape, exporterHelperDefaults, type ExporterHelperConfig, type ExporterHelperDefaults, type RetryConfig, type SendingQueueConfig } from './config.js';
export { Backoff } from './backoff.js';
export { DeadLetterFile, readDeadLetterFile, SIGNAL_CODE, SIGNAL_OF_CODE } from './dead-letter.js';
export { QueueFillRegistry } from './fill.js';
export { readOptionalFile } from './files.js';
