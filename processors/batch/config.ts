import { s, type ConfigOf } from '../../src/core/schema.js';

export const batchProcessorConfig = s.refine(
  s.object({
    send_batch_size: s
      .int(0)
      .default(8192)
      .describe(
        'Items (log records, spans, metric data points) that trigger sending a batch; 0: no batching, every request is sent at once (as the collector)',
      ),
    timeout: s.duration().default(200).describe('Longest a batch waits for more data before it is sent'),
    flush_when_idle: s
      .bool()
      .default(true)
      .describe(
        'Also send the open batch once a whole event-loop turn passes with no request joining it (clients wait for their batch, so an idle gateway should not hold them for the timeout)',
      ),
    send_batch_max_size: s.int(0).default(0).describe('Upper bound on items per batch (0 = none); requests are not split, so one larger request goes alone'),
    metadata_keys: s
      .array(s.string())
      .default([])
      .describe(
        'Client metadata keys (headers a receiver keeps with include_metadata, e.g. x-tenant; case-insensitive) that split batches: requests with different values never share a batch, and each batch carries its values on for exporters (headers_setter from_context). Without it, a batch of several requests carries no client metadata.',
      ),
    metadata_cardinality_limit: s
      .int(0)
      .default(1000)
      .describe('Most batches with distinct metadata_keys values open at once; beyond it new combinations are refused (retryable). 0 = no limit.'),
  }),
  (v, path, issues) => {
    if (v.send_batch_max_size > 0 && v.send_batch_max_size < v.send_batch_size) {
      issues.push({
        path: [...path, 'send_batch_max_size'],
        message: `must be 0 or at least send_batch_size (${v.send_batch_size}), got ${v.send_batch_max_size}`,
      });
    }
  },
);

export type BatchProcessorConfig = ConfigOf<typeof batchProcessorConfig>;
