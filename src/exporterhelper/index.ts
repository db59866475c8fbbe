/**
 * The exporterhelper shared by every exporter: a chain of senders (queue: memory or WAL; metrics and dead
 * letters; narrowing; retry with backoff; timeout) around a one-attempt `send`. See README.md.
 */
export { ExporterHelper, walDirectory, type ExporterHelperOptions } from './helper.js';
export { itemsOf, type SendFn } from './sender.js';
export {
  exporterHelperShape,
  exporterHelperDefaults,
  type ExporterHelperConfig,
  type ExporterHelperDefaults,
  type RetryConfig,
  type SendingQueueConfig,
} from './config.js';
export { Backoff } from './backoff.js';
export { DeadLetterFile, readDeadLetterFile, SIGNAL_CODE, SIGNAL_OF_CODE } from './dead-letter.js';
export { QueueFillRegistry } from './fill.js';
export { topLevelEntries } from './narrowing-sender.js';
export { readOptionalFile } from './files.js';
