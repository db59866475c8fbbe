/**
 * The timeout stage: a backstop around one attempt. An exporter enforces its own `timeout` where it can
 * cancel the request (HTTP request, gRPC deadline); this stage only makes sure an attempt that never
 * settles (a stuck socket, a bug) cannot hold a queue consumer for ever: past `timeout` plus a grace, the
 * attempt counts as a retryable failure. The attempt itself cannot be cancelled from here; its late
 * verdict is ignored.
 */
import { RetryableError } from '../core/errors.js';
import type { SendFn } from './sender.js';

/** How long after the exporter's own timeout the backstop fires, so the exporter's error wins. */
const GRACE_MS = 1000;

export function timeoutSender(send: SendFn, timeoutMs: number | undefined, exporterId: string): SendFn {
  if (timeoutMs === undefined || timeoutMs <= 0) return send;
  const limit = timeoutMs + GRACE_MS;
  return (payload, signal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new RetryableError(
            `exporter ${exporterId}: the attempt did not finish within timeout (${timeoutMs} ms) plus ${GRACE_MS} ms; it counts as failed and is retried`,
            { code: 'GS_EXPORTER_SEND_FAILED' },
          ),
        );
      }, limit);
      send(payload, signal).then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
}
