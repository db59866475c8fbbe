/**
 * The filter processor with the collector's converters in its conditions: access logs from inside the
 * cluster's network that a browser did not send, and requests older than a cut-off, are dropped.
 */
import { describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { decodeRequest, requestFromJson } from '../../src/pdata/codec.js';
import { fromAnyValue } from '../../src/ottl/values.js';
import { RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { validConfig, settingsForTest } from '../../test/helpers/component-config.js';
import { filterProcessorFactory } from './factory.js';
import type { ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';

const record = (body: string, client: string, agent: string, time: string) => ({
  timeUnixNano: time,
  body: { stringValue: body },
  attributes: [
    { key: 'client.address', value: { stringValue: client } },
    { key: 'user_agent.original', value: { stringValue: agent } },
  ],
});

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0';

describe('filter processor with the collector converters', () => {
  it('drops internal non-browser traffic (IsInCIDR, UserAgent) and stale records (time math, Duration)', async () => {
    const cfg = validConfig(filterProcessorFactory, {
      error_mode: 'ignore',
      logs: {
        log_record: [
          'IsInCIDR(log.attributes["client.address"], ["10.0.0.0/8", "fd00::/8"]) and UserAgent(log.attributes["user_agent.original"])["user_agent.name"] != "Firefox"',
          'log.time < Unix(1700000000) - Duration("24h")',
        ],
      },
    });
    const down = new RecordingConsumer();
    const proc = filterProcessorFactory.create(settingsForTest('filter/converters', 'processor'), cfg, 'logs', down);
    const body = {
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                record('probe', '10.2.0.7', 'Go-http-client/1.1', '1700000000000000000'),
                record('internal browser', '10.2.0.9', FIREFOX, '1700000000000000000'),
                record('external probe', '203.0.113.5', 'Go-http-client/1.1', '1700000000000000000'),
                record('ipv6 probe', 'fd00::12', 'curl/7.81.0', '1700000000000000000'),
                record('stale', '203.0.113.5', FIREFOX, '1699900000000000000'),
              ],
            },
          ],
        },
      ],
    };
    await proc.consume(new Payload('logs', requestFromJson('logs', JSON.stringify(body))));
    const req = decodeRequest('logs', down.got[0]!.bytes) as ExportLogsServiceRequest;
    const kept = req.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((r) => fromAnyValue(r.body));
    expect(kept).toEqual(['internal browser', 'external probe']);
  });
});
