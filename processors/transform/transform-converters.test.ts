/**
 * The transform processor running the collector's time, text, hash and network converters over a real
 * access-log payload (test/fixtures/ottl/access-logs.json), as a collector config would write them; a
 * line that is not a CSV row fails its statements and, with error_mode ignore, passes on unchanged.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Payload } from '../../src/pdata/payload.js';
import { decodeRequest, requestFromJson } from '../../src/pdata/codec.js';
import { fromKeyValues, fromAnyValue } from '../../src/ottl/values.js';
import { RecordingConsumer } from '../../test/helpers/otlp-test-servers.js';
import { parseConfig, validConfig, settingsForTest } from '../../test/helpers/component-config.js';
import { transformProcessorFactory } from './factory.js';
import type { ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';

const FIXTURE = readFileSync(new URL('../../test/fixtures/ottl/access-logs.json', import.meta.url), 'utf8');

const HEADERS = 'ts,client_ip,client_port,server_ip,server_port,method,url,status,seconds';

const STATEMENTS = [
  `set(log.cache["row"], ParseCSV(log.body, "${HEADERS}"))`,
  'merge_maps(log.attributes, URL(log.cache["row"]["url"]), "upsert")',
  'set(log.time, Time(log.cache["row"]["ts"], "%Y-%m-%dT%H:%M:%S.%L%j"))',
  'set(log.attributes["local.hour"], Hour(Time(log.cache["row"]["ts"], "%Y-%m-%dT%H:%M:%S.%L%j")))',
  'set(log.attributes["event.day"], FormatTime(log.time, "%a %d %b %Y %H:%M:%S.%L %Z"))',
  'set(log.attributes["minute.bucket"], UnixSeconds(TruncateTime(log.time, Duration("5m"))))',
  'set(log.attributes["http.response.status_code"], ParseInt(log.cache["row"]["status"], 10))',
  'set(log.severity_text, ParseSeverity(log.attributes["http.response.status_code"], {"error":[{"range":"5xx"}], "warn":[{"range":"4xx"}], "info":[{"range":{"min":100, "max":399}}]}))',
  'set(log.attributes["network.community_id"], CommunityID(log.cache["row"]["client_ip"], ParseInt(log.cache["row"]["client_port"], 10), log.cache["row"]["server_ip"], ParseInt(log.cache["row"]["server_port"], 10), "TCP"))',
  'set(log.attributes["client.internal"], IsInCIDR(log.cache["row"]["client_ip"], ["10.0.0.0/8", "192.168.0.0/16"]))',
  'set(log.attributes["session.id"], XXH3(Concat([log.cache["row"]["client_ip"], log.attributes["url.domain"]], "|")))',
  'set(log.attributes["service.key"], ToSnakeCase(resource.attributes["service.name"]))',
  'set(log.attributes["summary"], Format("%s %s -> %d in %.1fms", [log.cache["row"]["method"], log.attributes["url.path"], log.attributes["http.response.status_code"], Double(log.cache["row"]["seconds"]) * 1000.0]))',
  'set(log.attributes["labels"], ToKeyValueString({"method": log.cache["row"]["method"], "status": log.attributes["http.response.status_code"]}, "=", ",", true))',
];

describe('transform processor with the collector converters', () => {
  it('parses, enriches and hashes an access log; a line that is not a row passes on unchanged (error_mode ignore)', async () => {
    const cfg = validConfig(transformProcessorFactory, { error_mode: 'ignore', log_statements: STATEMENTS });
    const sink = new RecordingConsumer();
    const proc = transformProcessorFactory.create(settingsForTest('transform/converters', 'processor'), cfg, 'logs', sink);
    await proc.consume(new Payload('logs', requestFromJson('logs', FIXTURE)));

    const req = decodeRequest('logs', sink.got[0]!.bytes) as ExportLogsServiceRequest;
    const [checkout, order, reset] = req.resourceLogs[0]!.scopeLogs[0]!.logRecords;
    const a = fromKeyValues(checkout!.attributes);
    expect(Object.fromEntries(a)).toEqual({
      'log.file.name': 'access.csv',
      'url.original': 'https://shop.example.com:8443/cart/checkout.php?item=42&qty=2#pay',
      'url.domain': 'shop.example.com',
      'url.scheme': 'https',
      'url.path': '/cart/checkout.php',
      'url.port': 8443n,
      'url.fragment': 'pay',
      'url.query': 'item=42&qty=2',
      'url.extension': 'php',
      // The text's own offset is the wall clock Hour() reads; log.time itself reads in UTC.
      'local.hour': 12n,
      'event.day': 'Fri 26 May 2023 10:34:56.789 UTC',
      'minute.bucket': 1685097000n,
      'http.response.status_code': 503n,
      'network.community_id': '1:VC0R37jUehhgnd4t5VICrmcftcQ=',
      'client.internal': false,
      'session.id': '817a307ba1b9238e',
      'service.key': 'checkout_service',
      summary: 'GET /cart/checkout.php -> 503 in 237.5ms',
      labels: 'method=GET,status=503',
    });
    expect(checkout!.timeUnixNano).toBe(1685097296_789_000_000n);
    expect(checkout!.severityText).toBe('error');

    const o = fromKeyValues(order!.attributes);
    expect(o.get('client.internal')).toBe(true);
    expect(o.get('url.path')).toBe('/api/v2/orders');
    expect(o.has('url.port')).toBe(false);
    expect(o.get('summary')).toBe('POST /api/v2/orders -> 201 in 12.0ms');
    expect(order!.severityText).toBe('info');

    // Not a CSV row: ParseCSV fails, and so does every statement that needs its fields (URL, Time,
    // ParseInt, ...); those that do not still run, and the record carries on, as the collector's
    // error_mode ignore does. (Concat writes a nil as "<nil>"; a nil in a map reads as "".)
    expect(fromAnyValue(reset!.body)).toBe('connection reset by peer');
    expect(Object.fromEntries(fromKeyValues(reset!.attributes))).toEqual({
      'log.file.name': 'access.csv',
      'event.day': 'Fri 26 May 2023 10:35:02.000 UTC',
      'minute.bucket': 1685097300n,
      'session.id': '59b3db8dc5578a20',
      'service.key': 'checkout_service',
      labels: 'method=,status=',
    });
    expect(reset!.severityText).toBe('');
    expect(reset!.timeUnixNano).toBe(1685097302000000000n);
  });

  it('a converter argument the collector refuses at load fails the config, naming the statement', () => {
    const raw = { log_statements: ['set(log.attributes["d"], FormatTime(log.time, "%Y-%Q"))'] };
    const issues = parseConfig(transformProcessorFactory, raw).issues;
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['log_statements.0', expect.stringMatching(/column 47: FormatTime: "%Y-%Q": unsupported directive %Q/)],
    ]);
  });
});
