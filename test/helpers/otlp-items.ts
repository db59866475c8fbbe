/**
 * Flattens OTLP requests into one canonical string per item (log record, span, metric) together with its
 * resource and scope, so what a client sent and what arrived downstream compare as multisets whatever the
 * batching did to request boundaries.
 */
import { requestToJson } from '../../src/pdata/codec.js';
import type { Signal } from '../../src/core/signal.js';

const KEYS: Record<Signal, [string, string, string]> = {
  logs: ['resourceLogs', 'scopeLogs', 'logRecords'],
  traces: ['resourceSpans', 'scopeSpans', 'spans'],
  metrics: ['resourceMetrics', 'scopeMetrics', 'metrics'],
};

export function itemsOf(signal: Signal, bytes: Uint8Array): string[] {
  const [rk, sk, ik] = KEYS[signal];
  const req = JSON.parse(requestToJson(signal, bytes)) as Record<string, any[]>;
  const out: string[] = [];
  for (const r of req[rk] ?? []) {
    for (const sc of r[sk] ?? []) {
      for (const item of sc[ik] ?? []) {
        out.push(
          JSON.stringify({ resource: r.resource ?? null, resourceSchema: r.schemaUrl ?? '', scope: sc.scope ?? null, scopeSchema: sc.schemaUrl ?? '', item }),
        );
      }
    }
  }
  return out.sort();
}

/** Reads a file exporter's `proto` output: a sequence of [u32 big-endian length][request bytes]. */
export function splitLengthPrefixed(file: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos + 4 <= file.length) {
    const len = file.readUInt32BE(pos);
    out.push(file.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  if (pos !== file.length) throw new Error(`trailing ${file.length - pos} bytes in length-prefixed file`);
  return out;
}
