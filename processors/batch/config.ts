import { s, type ConfigOf } from '../../src/core/schema.js';

export const batchProcessorConfig = s.refine(
  s.object({
    send_batch_size: s
      .int(0)
      .default(8192)
      .describe('Items (log records, spans, metric data points) that trigger sending a batch; 0: no batching, every request is sent at once (as the collector)'),
    timeout: s.duration().default(200).describe('Longest a batch waits for more data before it is sent'),
    flush_when_idle: s
      .bool()
      .default(true)
      .describe('Also send the open batch once a whole event-loop turn passes with no request joining it (clients wait for their batch, so an idle gateway should not hold them for the timeout)'),
    send_batch_max_size: s
      .int(0)
      .default(0)
      .describe('Upper bound on items per batch (0 = none); requests are not split, so one larger request goes alone'),
    metadata_keys: s.notYet('keeps a separate batch per distinct value set of these client metadata keys (needs include_metadata on the receiver)', []),
    metadata_cardinality_limit: s.notYet('the most distinct metadata_keys value sets batched at once', 1000),
  }),
  (v, path, issues) => {
    if (v.send_batch_max_size > 0 && v.send_batch_max_size < v.send_batch_size) {
      issues.push({ path: [...path, 'send_batch_max_size'], message: `must be 0 or at least send_batch_size (${v.send_batch_size}), got ${v.send_batch_max_size}` });
    }
  },
);

export type BatchProcessorConfig = ConfigOf<typeof batchProcessorConfig>;
