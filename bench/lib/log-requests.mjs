// The log requests the single-thread micro-benchmarks share (bench/processors.mjs, bench/utf8-check.mjs):
// 1000 log records of ~548 bytes (4 resources x 250), distinct values per record, encoded with protobuf-es.
import { create, toBinary } from '@bufbuild/protobuf';
import { ExportLogsServiceRequestSchema } from '../../dist/proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';

export const RECORDS = 1000;
export const RESOURCES = 4;

const str = (value) => ({ value: { case: 'stringValue', value } });
const int = (value) => ({ value: { case: 'intValue', value: BigInt(value) } });
const kv = (key, value) => ({ key, value });

/**
 * One request; `accent` replaces one ASCII letter of every body and e-mail (`'é'` makes every record hold
 * non-ASCII text; the default keeps the text ASCII).
 */
export function makeRequest(seed, { accent = 'e' } = {}) {
  const per = RECORDS / RESOURCES;
  const resourceLogs = [];
  let n = 0;
  for (let r = 0; r < RESOURCES; r++) {
    const logRecords = [];
    for (let i = 0; i < per; i++, n++) {
      const id = `${seed}-${n}`;
      logRecords.push({
        timeUnixNano: 1_700_000_000_000_000_000n + BigInt(n),
        observedTimeUnixNano: 1_700_000_000_000_500_000n + BigInt(n),
        severityNumber: 9,
        severityText: 'INFO',
        body: str(
          `GET /api/v1/orders/${id} completed in 23ms for tenant acme-corp; cach${accent}=miss upstream=orders-db-7 bytes=18234 user-agent="Mozilla/5.0 (X11; Linux x86_64)" ref=${id.padEnd(31, 'x')} trace_sampled=true`,
        ),
        attributes: [
          kv('http.method', str('GET')),
          kv('http.route', str('/api/v1/orders/{id}')),
          kv('http.status_code', int(200)),
          kv('user.email', str(`us${accent}r${n}.${seed}@example.com`)),
          kv('net.peer.ip', str(`10.0.${n % 256}.${(n * 7) % 256}`)),
          kv('thread.id', int(n % 64)),
          kv('session.id', str(`sess-${id}-abcdefghijklmnopqrstuvwxyz012345`)),
          kv('code.function', str('OrdersController.get')),
        ],
        traceId: Uint8Array.from({ length: 16 }, (_, k) => (n * 31 + k) & 255),
        spanId: Uint8Array.from({ length: 8 }, (_, k) => (n * 17 + k) & 255),
        flags: 1,
      });
    }
    resourceLogs.push({
      resource: { attributes: [kv('service.name', str(`orders-${r}`)), kv('service.version', str('1.4.2')), kv('deployment.environment', str('prod'))] },
      scopeLogs: [{ scope: { name: 'orders-logger', version: '2.1.0' }, logRecords }],
    });
  }
  return toBinary(ExportLogsServiceRequestSchema, create(ExportLogsServiceRequestSchema, { resourceLogs }));
}
