/**
 * The queue's `sizer`: what `queue_size` and the batch sizes count, as the collector's exporterhelper:
 * requests as received, items (log records, spans, metric data points, by a wire scan) or encoded bytes.
 */
import type { Payload } from '../pdata/payload.js';
import type { Sizer } from './config.js';
import { itemsOf } from './sender.js';

export function sizeOf(sizer: Sizer, payload: Payload): number {
  if (sizer === 'items') return itemsOf(payload);
  if (sizer === 'bytes') return payload.byteLength;
  return 1;
}

/** queue_size with its unit, for messages: `1000 requests`, `5000 items`, `8388608 bytes`. */
export function sizeText(sizer: Sizer, n: number): string {
  return `${n} ${sizer}`;
}
