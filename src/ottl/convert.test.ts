/**
 * The converters of convert-time.ts, convert-text.ts, convert-hash.ts and convert-net.ts: the ottlfuncs
 * README's examples with their outputs, the collector's own test vectors (func_*_test.go) where the
 * README gives none, edge cases (nil, wrong types, time zones), the checks made at config load, and the
 * errors at run time with error_mode deciding what happens.
 */
import { describe, expect, it } from 'vitest';
import { fromKeyValues, OttlDuration, OttlTime, type Value } from './values.js';
import { firstLog, runOnLog, vmap, type LogSpec } from './test-support.js';
import { compileStatement, OttlError } from './compile.js';
import { formatGoDuration } from './values.js';
import { uuidV7 } from './convert-hash.js';

type Row = [expr: string, spec: LogSpec, expected: Value];

function out(expr: string, spec: LogSpec = {}): Value {
  const req = runOnLog([`set(attributes["out"], ${expr})`], spec);
  return fromKeyValues(firstLog(req).attributes).get('out') ?? null;
}

// 2023-01-01T00:00:00Z, a Sunday, as the README's Unix(1672527600) is 2022-12-31T23:00:00Z.
const NEW_YEAR = 1672531200n;
const TS = NEW_YEAR * 1_000_000_000n + 123_456_789n;

const TABLES: Record<string, Row[]> = {
  Unix: [
    ['UnixSeconds(Unix(1672527600))', {}, 1672527600n],
    ['UnixNano(Unix(1672527600, 5))', {}, 1672527600_000_000_005n],
    ['UnixNano(Unix(-1))', {}, -1_000_000_000n],
  ],
  UnixMicro: [
    ['UnixMicro(Time("02/04/2023", "%m/%d/%Y"))', {}, 1675468800_000_000n],
    ['UnixMicro(time)', { timeUnixNano: TS }, 1672531200_123_456n],
  ],
  Duration: [
    // A duration set into an attribute is its nanoseconds, as a time is its UnixNano.
    ['Duration("3s")', {}, 3_000_000_000n],
    ['Duration("333ms")', {}, 333_000_000n],
    ['Duration("1000000h")', {}, 3_600_000_000_000_000_000n],
    ['Duration("-1.5h")', {}, -5_400_000_000_000n],
    ['Duration("1h15m30.918273645s")', {}, 4_530_918_273_645n],
    ['Duration("2µs")', {}, 2_000n],
    ['Duration("0")', {}, 0n],
  ],
  'calendar fields': [
    // The time's own zone decides: UTC for timestamps and Unix().
    ['Year(time)', { timeUnixNano: TS }, 2023n],
    ['Month(time)', { timeUnixNano: TS }, 1n],
    ['Day(time)', { timeUnixNano: TS }, 1n],
    ['Weekday(time)', { timeUnixNano: TS }, 0n],
    ['Hour(time)', { timeUnixNano: TS }, 0n],
    ['Minute(time)', { timeUnixNano: TS + 61_000_000_000n }, 1n],
    ['Second(time)', { timeUnixNano: TS + 61_000_000_000n }, 1n],
    ['Nanosecond(time)', { timeUnixNano: TS }, 123_456_789n],
    ['Year(Unix(1672527600))', {}, 2022n],
    ['Weekday(Unix(1672527600))', {}, 6n],
    // Time()'s location: the wall clock there (Go's ParseInLocation), in summer and in winter time.
    ['Hour(Time("2023-05-26 12:34:56", "%Y-%m-%d %H:%M:%S", "America/New_York"))', {}, 12n],
    ['UnixSeconds(Time("2023-05-26 12:34:56", "%Y-%m-%d %H:%M:%S", "America/New_York"))', {}, 1685118896n],
    ['Hour(Time("2023-01-26 23:30:00", "%Y-%m-%d %H:%M:%S", "America/New_York"))', {}, 23n],
    ['Hour(Time("2023-01-26 23:30:00", "%Y-%m-%d %H:%M:%S", "Local"))', {}, 23n],
    ['UnixSeconds(Time("2023-01-26 23:30:00", "%Y-%m-%d %H:%M:%S", "Asia/Kolkata"))', {}, 1674756000n],
    ['Day(Time("2023-01-26 23:30:00", "%Y-%m-%d %H:%M:%S", "America/New_York"))', {}, 26n],
    // An offset in the text: that fixed zone.
    ['Hour(Time("2023-05-26 12:34:56 +0200", "%Y-%m-%d %H:%M:%S %z"))', {}, 12n],
    ['Hour(Time("2023-05-26 01:00:00 +0200", "%Y-%m-%d %H:%M:%S %z") + Duration("1h"))', {}, 2n],
    ['Day(Time("2023-05-26 01:00:00 +0200", "%Y-%m-%d %H:%M:%S %z"))', {}, 26n],
    // Before 1970.
    ['Year(Unix(-1))', {}, 1969n],
    ['Nanosecond(Unix(-1, 5))', {}, 5n],
  ],
  'duration units': [
    ['Hours(Duration("1h"))', {}, 1],
    ['Hours(Duration("90m"))', {}, 1.5],
    ['Minutes(Duration("1h"))', {}, 60],
    ['Seconds(Duration("1h"))', {}, 3600],
    ['Seconds(Duration("1.5s"))', {}, 1.5],
    ['Milliseconds(Duration("1h"))', {}, 3_600_000n],
    ['Microseconds(Duration("1h"))', {}, 3_600_000_000n],
    ['Nanoseconds(Duration("1h"))', {}, 3_600_000_000_000n],
    // Integer units truncate toward zero, as Go's.
    ['Milliseconds(Duration("-1.9ms"))', {}, -1n],
  ],
  TruncateTime: [
    ['UnixNano(TruncateTime(time, Duration("1s")))', { timeUnixNano: TS }, NEW_YEAR * 1_000_000_000n],
    ['UnixSeconds(TruncateTime(time, Duration("1h")))', { timeUnixNano: TS + 3_599_000_000_000n }, NEW_YEAR],
    // Multiples counted from Go's zero time (a Monday), not from 1970: weeks start on Mondays.
    ['UnixSeconds(TruncateTime(time, Duration("168h")))', { timeUnixNano: TS }, 1672012800n],
    // A duration of zero or less leaves the time as it is.
    ['UnixNano(TruncateTime(time, Duration("0s")))', { timeUnixNano: TS }, TS],
  ],
  FormatTime: [
    ['FormatTime(Time("02/04/2023", "%m/%d/%Y"), "%A %h %e %Y")', {}, 'Saturday Feb  4 2023'],
    ['FormatTime(time, "%b %d %Y %H:%M:%S")', { timeUnixNano: TS }, 'Jan 01 2023 00:00:00'],
    ['FormatTime(TruncateTime(time, Duration("10h")), "%Y-%m-%d %H:%M:%S")', { timeUnixNano: TS + 11n * 3_600_000_000_000n }, '2023-01-01 10:00:00'],
    [
      'FormatTime(time, "%y|%m|%o|%q|%B|%g|%a|%I|%l|%p|%P|%L|%f|%s|%%")',
      { timeUnixNano: TS + 13n * 3_600_000_000_000n },
      '23|01| 1|1|January|1|Sun|01|1|PM|pm|123|123456|123456789|%',
    ],
    [
      'FormatTime(time, "%D %F %T %R %r %c")',
      { timeUnixNano: TS + 13n * 3_600_000_000_000n },
      '01/01/23 2023-01-01 13:00:00 13:00 01:00:00 pm Sun Jan 01 13:00:00 2023',
    ],
    ['FormatTime(time, "%z %Z %i %j %k %w")', { timeUnixNano: TS }, '+0000 UTC +00 +00:00 +00:00:00 +000000'],
    ['FormatTime(Time("2023-05-26 12:34:56", "%Y-%m-%d %H:%M:%S", "America/New_York"), "%Y-%m-%dT%H:%M:%S%j %Z")', {}, '2023-05-26T12:34:56-04:00 EDT'],
    ['FormatTime(Time("2023-05-26 12:34:56 +0530", "%Y-%m-%d %H:%M:%S %z"), "%H:%M %z %k")', {}, '12:34 +0530 +05:30:00'],
  ],
  Index: [
    ['Index("hello world", "world")', {}, 6n],
    ['Index("hello world", "mars")', {}, -1n],
    // Byte offsets, as Go's strings.Index.
    ['Index("héllo", "llo")', {}, 3n],
    ['Index(attributes["tags"], "error")', { attributes: { tags: ['ok', 'error', 'error'] } }, 1n],
    ['Index(attributes["scores"], 95)', { attributes: { scores: [80n, 95n] } }, 1n],
    // The comparison rules: an int and a double of one value are equal.
    ['Index(attributes["scores"], 95.0)', { attributes: { scores: [80n, 95n] } }, 1n],
    ['Index(attributes["tags"], "x")', { attributes: { tags: [] } }, -1n],
  ],
  Values: [
    ['Values({"key1": "value1", "key2": 5, "key3": [1,2], "key4": {"b1": "c"}})', {}, ['value1', 5n, [1n, 2n], vmap({ b1: 'c' })]],
    ['Values(resource.attributes)', { resource: { 'service.name': 'cart' } }, ['cart']],
  ],
  Sort: [
    ['Sort(attributes["tags"])', { attributes: { tags: ['b', 'c', 'a'] } }, ['a', 'b', 'c']],
    ['Sort(attributes["tags"], "desc")', { attributes: { tags: ['b', 'c', 'a'] } }, ['c', 'b', 'a']],
    ['Sort([3, 1, 2])', {}, [1n, 2n, 3n]],
    // Ints and doubles sort as doubles and come back as doubles.
    ['Sort([3, 1.5, 2])', {}, [1.5, 2, 3]],
    // Bools (and mixes with strings) sort as strings.
    ['Sort([true, false, true])', {}, ['false', 'true', 'true']],
    ['Sort(["b", 10, true])', {}, ['10', 'b', 'true']],
    // Maps, slices and bytes have no order: the list comes back as it was; a non-list as it is.
    ['Sort([{"a": 1}, 1])', {}, [vmap({ a: 1n }), 1n]],
    ['Sort("text")', {}, 'text'],
  ],
  ToSnakeCase: [
    ['ToSnakeCase("MyMetricName")', {}, 'my_metric_name'],
    ['ToSnakeCase("myMetric")', {}, 'my_metric'],
    ['ToSnakeCase("JSONData")', {}, 'json_data'],
    ['ToSnakeCase("CPUUtilizationMetric")', {}, 'cpu_utilization_metric'],
    ['ToSnakeCase("simple-string")', {}, 'simple_string'],
    ['ToSnakeCase("http.server.duration")', {}, 'http_server_duration'],
    ['ToSnakeCase("Version2Beta")', {}, 'version_2_beta'],
    ['ToSnakeCase("")', {}, ''],
  ],
  ToCamelCase: [
    ['ToCamelCase("my_metric_name")', {}, 'MyMetricName'],
    ['ToCamelCase("http.server.duration")', {}, 'HttpServerDuration'],
    ['ToCamelCase("SimpleString")', {}, 'SimpleString'],
    ['ToCamelCase("simple-string")', {}, 'SimpleString'],
    ['ToCamelCase("")', {}, ''],
  ],
  ConvertCase: [
    ['ConvertCase("MY_METRIC", "lower")', {}, 'my_metric'],
    ['ConvertCase("my_metric", "upper")', {}, 'MY_METRIC'],
    ['ConvertCase("complex_SET-of.WORDS1234", "upper")', {}, 'COMPLEX_SET-OF.WORDS1234'],
    ['ConvertCase("complex_SET-of.WORDS1234", "lower")', {}, 'complex_set-of.words1234'],
    ['ConvertCase("myMetric", "snake")', {}, 'my_metric'],
    ['ConvertCase("my_metric", "camel")', {}, 'MyMetric'],
  ],
  ToKeyValueString: [
    ['ToKeyValueString(body)', { body: vmap({ k1: 'v1', k2: 'v2', k3: 'v3' }) }, 'k1=v1 k2=v2 k3=v3'],
    [
      'ToKeyValueString(body)',
      { body: vmap({ k1: 'v1', k2: vmap({ k3: 'v3', k4: ['v4', 'v5'] }) }) },
      'k1=v1 k2={\\"k3\\":\\"v3\\",\\"k4\\":[\\"v4\\",\\"v5\\"]}',
    ],
    ['ToKeyValueString(body)', { body: vmap({ k1: 'v1', k2: 'v=2', k3: '"v=3"' }) }, 'k1=v1 k2="v=2" k3="\\"v=3\\""'],
    ['ToKeyValueString(body, ":", ",", true)', { body: vmap({ b: 2n, a: true, c: 'x y' }) }, 'a:true,b:2,c:x y'],
  ],
  SliceToMap: [
    [
      'SliceToMap(attributes["things"], ["name"])',
      { attributes: { things: [vmap({ name: 'foo', value: 2n }), vmap({ name: 'bar', value: 5n })] } },
      vmap({ foo: vmap({ name: 'foo', value: 2n }), bar: vmap({ name: 'bar', value: 5n }) }),
    ],
    [
      'SliceToMap(attributes["things"])',
      { attributes: { things: [vmap({ name: 'foo', value: 2n }), vmap({ name: 'bar', value: 5n })] } },
      vmap({ '0': vmap({ name: 'foo', value: 2n }), '1': vmap({ name: 'bar', value: 5n }) }),
    ],
    [
      'SliceToMap(attributes["things"], ["name"], ["value"])',
      { attributes: { things: [vmap({ name: 'foo', value: 2n }), vmap({ name: 'bar', value: 5n })] } },
      vmap({ foo: 2n, bar: 5n }),
    ],
    // Nested key paths; items without the key, or with a non-string key, are left out.
    [
      'SliceToMap(attributes["things"], ["meta", "id"], ["v"])',
      { attributes: { things: [vmap({ meta: vmap({ id: 'a' }), v: 1n }), vmap({ meta: vmap({ id: 7n }), v: 2n }), 'x', vmap({ v: 3n })] } },
      vmap({ a: 1n }),
    ],
  ],
  ParseCSV: [
    [
      'ParseCSV("999-999-9999,Joe Smith,joe.smith@example.com", "phone,name,email")',
      {},
      vmap({ phone: '999-999-9999', name: 'Joe Smith', email: 'joe.smith@example.com' }),
    ],
    [
      'ParseCSV(body, "phone|name|email", delimiter="|")',
      { body: '555-555-5556|Joe Smith|joe@example.com' },
      vmap({ phone: '555-555-5556', name: 'Joe Smith', email: 'joe@example.com' }),
    ],
    [
      'ParseCSV(attributes["csv_line"], attributes["csv_headers"], delimiter="|", headerDelimiter=",", mode="lazyQuotes")',
      { attributes: { csv_line: '1|a "quoted" word|x', csv_headers: 'id,text,tag' } },
      vmap({ id: '1', text: 'a "quoted" word', tag: 'x' }),
    ],
    [
      'ParseCSV("\\"555-555-5556,Joe Smith\\",joe.smith@example.com", "phone,name,email", mode="ignoreQuotes")',
      {},
      vmap({ phone: '"555-555-5556', name: 'Joe Smith"', email: 'joe.smith@example.com' }),
    ],
    // Quoted fields keep delimiters and doubled quotes; a newline continues the last field.
    ['ParseCSV(body, "a,b,c")', { body: '"x,y","say ""hi""",z' }, vmap({ a: 'x,y', b: 'say "hi"', c: 'z' })],
    ['ParseCSV(body, "a,b,c")', { body: 'aa,b\nb,cc' }, vmap({ a: 'aa', b: 'b\nb', c: 'cc' })],
    ['ParseCSV(body, "a,b")', { body: '\n1,2\n' }, vmap({ a: '1', b: '2' })],
  ],
  ParseInt: [
    ['ParseInt("0b1111_0000", 0)', {}, 240n],
    ['ParseInt("0b10110", 0)', {}, 22n],
    ['ParseInt("0xFF", 0)', {}, 255n],
    ['ParseInt("-0xFF", 0)', {}, -255n],
    ['ParseInt("-0o123", 0)', {}, -83n],
    ['ParseInt("12345", 10)', {}, 12345n],
    ['ParseInt("0xAA", 0)', {}, 170n],
    ['ParseInt("AA", 16)', {}, 170n],
    ['ParseInt("-20", 8)', {}, -16n],
    ['ParseInt("0755", 0)', {}, 493n],
    ['ParseInt("+7", 10)', {}, 7n],
    ['ParseInt("9223372036854775807", 10)', {}, 9223372036854775807n],
  ],
  ParseSeverity: [
    ['ParseSeverity(attributes["level"], {"info":[{"equals": ["inf"]}, {"range":{"min":200, "max":299}}]})', { attributes: { level: 'inf' } }, 'info'],
    ['ParseSeverity(attributes["level"], {"info":[{"equals": ["inf"]}, {"range":{"min":200, "max":299}}]})', { attributes: { level: 204n } }, 'info'],
    ['ParseSeverity(attributes["level"], {"info":[{"range":"2xx"}]})', { attributes: { level: 200n } }, 'info'],
    [
      'ParseSeverity(severity_number, {"info":[{"equals": ["inf"]}, {"range":{"min":200, "max":299}}], "error":[{"range":{"min":400, "max":499}}]})',
      { severityNumber: 404 },
      'error',
    ],
    ['ParseSeverity(attributes["code"], {"warn":[{"range":"4xx"}], "error":[{"range":"5xx"}]})', { attributes: { code: 503n } }, 'error'],
    // The collector's test mapping: levels in the map's order, "equals" for strings, ranges for ints.
    [
      'ParseSeverity(attributes["v"], {"error":[{"range":{"min":400, "max":499}}], "debug":[{"range":{"min":100, "max":199}}], "info":[{"equals":["inf", "info"]}, {"range":"2xx"}], "warn":[{"range":{"min":300, "max":399}}], "fatal":[{"range":{"min":500, "max":599}}]})',
      { attributes: { v: 100n } },
      'debug',
    ],
    ['ParseSeverity(attributes["v"], {"error":[{"range":{"min":400, "max":599}}], "info":[{"equals":["info", "inf"]}]})', { attributes: { v: 'inf' } }, 'info'],
  ],
  Format: [
    ['Format("%02d", [attributes["priority"]])', { attributes: { priority: 7n } }, '07'],
    ['Format("%04d-%02d-%02d", [Year(time), Month(time), Day(time)])', { timeUnixNano: TS }, '2023-01-01'],
    [
      'Format("%s/%s/%04d-%02d-%02d.log", [resource.attributes["hostname"], body["program"], Year(time), Month(time), Day(time)])',
      { resource: { hostname: 'web-1' }, body: vmap({ program: 'nginx' }), timeUnixNano: TS },
      'web-1/nginx/2023-01-01.log',
    ],
    ['Format("%v %v %v %v %v", [1.5, 1000000.0, 123456.0, true, "x"])', {}, '1.5 1e+06 123456 true x'],
    [
      'Format("%.2f|%8.3f|%-5d|%+d|%x|%X|%o|%b|%q|%t|%e", [3.14159, 2.5, 42, 7, 255, 255, 8, 5, "hi", false, 1234.5678])',
      {},
      '3.14|   2.500|42   |+7|ff|FF|10|101|"hi"|false|1.234568e+03',
    ],
    ['Format("%.3s|%5s|%-5s|%T|%T|%T", ["abcdef", "ab", "ab", 1, 1.0, "s"])', {}, 'abc|   ab|ab   |int64|float64|string'],
    ['Format("%d", ["x"])', {}, '%!d(string=x)'],
    ['Format("%s %d", ["x"])', {}, 'x %!d(MISSING)'],
    ['Format("%s", ["x", 1])', {}, 'x%!(EXTRA int64=1)'],
    ['Format("%s|%v", [attributes["missing"], attributes["missing"]])', {}, '%!s(<nil>)|<nil>'],
    ['Format("%v", [Duration("90m")])', {}, '1h30m0s'],
    ['Format("%v", [time])', { timeUnixNano: TS }, '2023-01-01 00:00:00.123456789 +0000 UTC'],
    ['Format("100%%", [])', {}, '100%'],
  ],
  FNV: [
    ['FNV("hello world")', {}, 8618312879776256743n],
    ['FNV("")', {}, -3750763034362895579n],
    ['FNV("The quick brown fox jumps over the lazy dog")', {}, -866459186506731248n],
    ['FNV("héllo wörld ✓")', {}, 5399358577028388281n],
    ['FNV(resource.attributes["device.name"])', { resource: { 'device.name': 'hello world' } }, 8618312879776256743n],
  ],
  Murmur3Hash: [
    ['Murmur3Hash("Hello World")', {}, 'ce837619'],
    ['Murmur3Hash("")', {}, '00000000'],
    // Every tail length past the 4-byte blocks (vectors from the reference implementation).
    ['Murmur3Hash("a")', {}, 'b269253c'],
    ['Murmur3Hash("ab")', {}, '5fd7bf9b'],
    ['Murmur3Hash("abc")', {}, 'fa93ddb3'],
    ['Murmur3Hash("abcde")', {}, 'f69a9be8'],
    ['Murmur3Hash("The quick brown fox jumps over the lazy dog")', {}, '23f74f2e'],
  ],
  Murmur3Hash128: [
    ['Murmur3Hash128("Hello World")', {}, 'dbc2a0c1ab26631a27b4c09fcf1fe683'],
    ['Murmur3Hash128("")', {}, '00000000000000000000000000000000'],
    ['Murmur3Hash128("The quick brown fox jumps over the lazy dog")', {}, '6c1b07bc7bbc4be347939ac4a93c437a'],
    // Tails of 1, 3 and 8 bytes, a block and a 1-byte tail, a block and an 8-byte tail.
    ['Murmur3Hash128("a")', {}, '897859f6655555855a890e51483ab5e6'],
    ['Murmur3Hash128("abc")', {}, '6778ad3f3f3f96b4522dca264174a23b'],
    ['Murmur3Hash128("abcdefghijklmnopq")', {}, '57a6bd887f746475e40d11a19d49daec'],
    ['Murmur3Hash128("abcdefghijklmnopqrstuvwx")', {}, 'f72cded40f96946408f22153a3cf0f79'],
  ],
  XXH3: [
    ['XXH3("hello world")', {}, 'd447b1ea40e6988b'],
    ['XXH3("")', {}, '2d06800538d394c2'],
  ],
  XXH128: [
    ['XXH128("hello world")', {}, 'df8d09e93f874900a99b8775cc15b6c7'],
    ['XXH128("")', {}, '99aa06d3014798d86001c324468d497f'],
  ],
  URL: [
    [
      'URL("http://www.example.com")',
      {},
      vmap({ 'url.original': 'http://www.example.com', 'url.domain': 'www.example.com', 'url.scheme': 'http', 'url.path': '' }),
    ],
    [
      'URL("http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment")',
      {},
      vmap({
        'url.original': 'http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment',
        'url.domain': 'www.example.com',
        'url.scheme': 'http',
        'url.path': '/foo.gif',
        'url.port': 80n,
        'url.fragment': 'fragment',
        'url.user_info': 'myusername:mypassword',
        'url.username': 'myusername',
        'url.password': 'mypassword',
        'url.query': 'key1=val1&key2=val2',
        'url.extension': 'gif',
      }),
    ],
    // IPv6 hosts lose their brackets; the path is unescaped; a relative reference has no scheme or domain.
    [
      'URL("https://[::1]:8443/a%20b/")',
      {},
      vmap({ 'url.original': 'https://[::1]:8443/a%20b/', 'url.domain': '::1', 'url.scheme': 'https', 'url.path': '/a b/', 'url.port': 8443n }),
    ],
    [
      'URL("/api/v1/items.json?limit=5")',
      {},
      vmap({
        'url.original': '/api/v1/items.json?limit=5',
        'url.domain': '',
        'url.scheme': '',
        'url.path': '/api/v1/items.json',
        'url.query': 'limit=5',
        'url.extension': 'json',
      }),
    ],
  ],
  IsInCIDR: [
    ['IsInCIDR(resource.attributes["server.ip"], ["192.168.0.0/16"])', { resource: { 'server.ip': '192.168.10.4' } }, true],
    ['IsInCIDR(resource.attributes["server.ip"], ["192.168.0.0/16", "10.0.0.0/8"])', { resource: { 'server.ip': '10.1.2.3' } }, true],
    ['IsInCIDR(resource.attributes["server.ip"], ["192.168.0.0/16", "10.0.0.0/8"])', { resource: { 'server.ip': '172.16.0.1' } }, false],
    ['IsInCIDR(attributes["ip"], ["2001:db8::/32"])', { attributes: { ip: '2001:db8:1::5' } }, true],
    // An IPv4-mapped IPv6 address is an IPv4 address; an IPv4 address is not in an IPv6 network.
    ['IsInCIDR(attributes["ip"], ["10.0.0.0/8"])', { attributes: { ip: '::ffff:10.0.0.1' } }, true],
    ['IsInCIDR(attributes["ip"], ["::/0"])', { attributes: { ip: '10.0.0.1' } }, false],
    // Not an IP address: false, not an error.
    ['IsInCIDR(attributes["ip"], ["10.0.0.0/8"])', { attributes: { ip: 'localhost' } }, false],
    ['IsInCIDR(attributes["ip"], ["10.0.0.0/8"])', { attributes: { ip: '010.0.0.1' } }, false],
    // A list built at run time.
    ['IsInCIDR(attributes["ip"], [attributes["net"]])', { attributes: { ip: '10.0.0.1', net: '10.0.0.0/30' } }, true],
  ],
  CommunityID: [
    ['CommunityID("1.2.3.4", 12345, "5.6.7.8", 80, "TCP", 0)', {}, '1:0by3b/tE95hcOzccyt6d4kjgbZc='],
    ['CommunityID("5.6.7.8", 80, "1.2.3.4", 12345)', {}, '1:0by3b/tE95hcOzccyt6d4kjgbZc='],
    ['CommunityID("192.168.1.1", 53, "10.10.10.10", 53000, "UDP", 0)', {}, '1:gQ05/45srnixHs8V/2ejpkxhBwg='],
    ['CommunityID("10.10.10.10", 53000, "192.168.1.1", 53, "ICMP")', {}, '1:9TGPWejPFuBlKrHuVcM3iaA8hf8='],
    ['CommunityID("10.10.10.10", 53, "192.168.1.1", 53000, "RSVP")', {}, '1:rkXhRghBvx2yf3zgDnSHuJ35XaY='],
    ['CommunityID("192.168.1.1", 53, "10.10.10.10", 53000, "ICMP6")', {}, '1:bchQ2SAoVf2Iq1XdGBXObLJ2i64='],
    ['CommunityID("192.168.1.1", 53, "10.10.10.10", 53000, "SCTP")', {}, '1:zo1kfEyhghMaeU7tQDCE2G+ITQc='],
    ['CommunityID("2001:db8::1", 8080, "2001:db8::2", 443)', {}, '1:c5m26SNBLmvfaBQJNWKXZwUGGcM='],
    ['CommunityID("192.168.1.1", 12345, "192.168.1.2", 80, "TCP", 1234)', {}, '1:v1n8p4IZW9jXIJnFANLbRU2ahdU='],
    ['CommunityID("10.0.0.2", 80, "10.0.0.1", 12345)', {}, '1:CpuULklTENbGdRpvp7gNcQd5ZqA='],
    ['CommunityID("127.0.0.1", 8080, "127.0.0.1", 8080)', {}, '1:sG2vk7rcZ12ZxPg+nnwljgdVEGw='],
    ['CommunityID("2001:db8::1", 8080, "10.1.1.1", 443)', {}, '1:T1e3va6jTSWaSKkG3k4dnZq5VM8='],
    ['CommunityID("10.1.1.1", 8080, "10.1.1.2", 8079)', {}, '1:1fjNfFLjLTsO2WE9AY0TbTeSaBs='],
    ['CommunityID("10.1.1.2", 8079, "10.1.1.1", 8080)', {}, '1:1fjNfFLjLTsO2WE9AY0TbTeSaBs='],
    ['CommunityID("10.1.1.2", 8081, "10.1.1.2", 8080)', {}, '1:3byUvmBpOu8KHoTRr4eN5AjTQEU='],
    [
      'CommunityID(attributes["src"], attributes["sport"], attributes["dst"], attributes["dport"])',
      { attributes: { src: '1.2.3.4', sport: 12345n, dst: '5.6.7.8', dport: 80n } },
      '1:0by3b/tE95hcOzccyt6d4kjgbZc=',
    ],
  ],
  IsValidLuhn: [
    ['IsValidLuhn("17893729974")', {}, true],
    ['IsValidLuhn("4111 1111 1111 1111")', {}, true],
    ['IsValidLuhn("4111 1111 1111 1112")', {}, false],
    ['IsValidLuhn(attributes["n"])', { attributes: { n: 17893729974n } }, true],
    ['IsValidLuhn("")', {}, false],
  ],
  Log: [
    ['Log(attributes["duration_ms"])', { attributes: { duration_ms: 1.0 } }, 0],
    ['Log(attributes["n"])', { attributes: { n: 100n } }, Math.log(100)],
    ['Int(Log(attributes["duration_ms"]))', { attributes: { duration_ms: 1000.0 } }, 6n],
    ['Log("2.5e1")', {}, Math.log(25)],
    ['Log(true)', {}, 0],
  ],
  Decode: [
    ['Decode("aGVsbG8gd29ybGQ=", "base64")', {}, 'hello world'],
    ['Decode("aGVsbG8gd29ybGQ", "base64-raw")', {}, 'hello world'],
    ['Decode("PDw_Pz4-", "base64-url")', {}, '<<??>>'],
    ['Decode("PDw_Pz4-", "base64-raw-url")', {}, '<<??>>'],
    ['Decode("aGVsbG8gd29ybGQ", "rawbase64")', {}, 'hello world'],
    ['Decode(resource.attributes["encoded field"], "us-ascii")', { resource: { 'encoded field': 'plain' } }, 'plain'],
    // A charset reads the value's bytes: UTF-8 text read as ISO-8859-1, bytes as windows-1252 or UTF-16.
    ['Decode("é", "ISO-8859-1")', {}, 'Ã©'],
    ['Decode(attributes["b"], "windows-1252")', { attributes: { b: Uint8Array.from([0x80, 0x41, 0x9f, 0x81, 0xe9]) } }, '€AŸ\u0081é'],
    ['Decode(attributes["b"], "utf-16")', { attributes: { b: Uint8Array.from([0x41, 0, 0x42, 0]) } }, 'AB'],
    ['Decode(attributes["b"], "shift_jis")', { attributes: { b: Uint8Array.from([0x82, 0xa0]) } }, 'あ'],
  ],
  UserAgent: [
    // The README's three examples, exactly.
    [
      'UserAgent("curl/7.81.0")',
      {},
      vmap({ 'user_agent.name': 'curl', 'user_agent.version': '7.81.0', 'user_agent.original': 'curl/7.81.0', 'os.name': 'Other' }),
    ],
    [
      'UserAgent(attributes["ua"])',
      { attributes: { ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0' } },
      vmap({
        'user_agent.name': 'Firefox',
        'user_agent.version': '126.0',
        'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0',
        'os.name': 'Linux',
      }),
    ],
    [
      'UserAgent(attributes["ua"])',
      {
        attributes: {
          ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36 Edg/91.0.864.59',
        },
      },
      vmap({
        'user_agent.name': 'Edge',
        'user_agent.version': '91.0.864',
        'user_agent.original':
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36 Edg/91.0.864.59',
        'os.name': 'Windows',
        'os.version': '10',
      }),
    ],
    // A replacement with $1 (iOS's version from its groups), and an agent no rule knows.
    [
      'UserAgent(attributes["ua"])',
      {
        attributes: {
          ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
        },
      },
      vmap({
        'user_agent.name': 'Mobile Safari',
        'user_agent.version': '17.5',
        'user_agent.original':
          'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
        'os.name': 'iOS',
        'os.version': '17.5',
      }),
    ],
    [
      'UserAgent("something weird")',
      {},
      vmap({ 'user_agent.name': 'Other', 'user_agent.version': '', 'user_agent.original': 'something weird', 'os.name': 'Other' }),
    ],
  ],
  // TraceID, SpanID and ProfileID take hex text as well as bytes (the README's bytes|string).
  'TraceID, SpanID, ProfileID': [
    ['TraceID("a389023abaa839283293ed323892389d")', {}, Uint8Array.from(Buffer.from('a389023abaa839283293ed323892389d', 'hex'))],
    ['SpanID("0102030405060708")', {}, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])],
    ['ProfileID(0x00112233445566778899aabbccddeeff)', {}, Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'))],
    ['ProfileID("a389023abaa839283293ed323892389d")', {}, Uint8Array.from(Buffer.from('a389023abaa839283293ed323892389d', 'hex'))],
    ['SpanID(attributes["s"])', { attributes: { s: 'ABCDEF0123456789' } }, Uint8Array.from(Buffer.from('abcdef0123456789', 'hex'))],
  ],
  'time math': [
    ['Seconds(time - Unix(1672531200))', { timeUnixNano: TS }, 0.123456789],
    ['UnixSeconds(time + Duration("1h"))', { timeUnixNano: TS }, NEW_YEAR + 3600n],
    ['UnixSeconds(time - Duration("1h"))', { timeUnixNano: TS }, NEW_YEAR - 3600n],
    ['UnixSeconds(Duration("1h") + time)', { timeUnixNano: TS }, NEW_YEAR + 3600n],
    ['Minutes(Duration("1h") - Duration("30m"))', {}, 30],
  ],
};

describe('OTTL converters: time, text, hash and network (ottlfuncs README)', () => {
  for (const [name, rows] of Object.entries(TABLES)) {
    it.each(rows)(`${name}: %s`, (expr, spec, expected) => {
      expect(out(expr, spec)).toEqual(expected);
    });
  }

  it('UUID and UUIDv7: well-formed, fresh each time; a v7 leads with the Unix milliseconds', () => {
    const v4 = out('UUID()') as string;
    expect(v4).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(out('UUID()')).not.toBe(v4);
    const before = Date.now();
    const v7 = out('UUIDv7()') as string;
    expect(v7).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(v7.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms - before).toBeLessThan(5000);
    expect(uuidV7(0x0123456789ab).startsWith('01234567-89ab-7')).toBe(true);
  });

  it('Duration prints as Go prints a time.Duration', () => {
    expect(formatGoDuration(0n)).toBe('0s');
    expect(formatGoDuration(1_500_000_000n)).toBe('1.5s');
    expect(formatGoDuration(333_000_000n)).toBe('333ms');
    expect(formatGoDuration(2_000n)).toBe('2µs');
    expect(formatGoDuration(-5_400_000_000_000n)).toBe('-1h30m0s');
    expect(new OttlDuration(1n).ns).toBe(1n);
    expect(new OttlTime(1n, 'UTC').zone).toBe('UTC');
  });

  it.each([
    // Nil and wrong types.
    ['Hour(attributes["missing"])', {}, /Hour: expected a time, got nil/],
    ['Year("2023")', {}, /Year: expected a time, got string/],
    ['Hours(3600)', {}, /Hours: expected a duration, got int/],
    ['TruncateTime(time, 1000)', {}, /TruncateTime: expected a duration, got int/],
    ['Unix("1672527600")', {}, /Unix: seconds must be an int, got string/],
    ['Unix(1, 1.5)', {}, /Unix: nanoseconds must be an int, got double/],
    ['Duration(attributes["missing"])', {}, /Duration: expected a string, got nil/],
    // Go's time.ParseDuration errors, in its words.
    ['Duration("10h 20m")', {}, /time: unknown unit "h " in duration "10h 20m"/],
    ['Duration("1")', {}, /time: missing unit in duration "1"/],
    ['Duration("1d")', {}, /time: unknown unit "d" in duration "1d"/],
    ['Duration(".s")', {}, /time: invalid duration ".s"/],
    ['Duration("")', {}, /time: invalid duration ""/],
    ['Duration("9999999999h")', {}, /time: invalid duration "9999999999h"/],
    ['FNV(10)', {}, /FNV: expected a string, got int/],
    ['XXH3(attributes["missing"])', {}, /XXH3: expected a string, got nil/],
    ['Murmur3Hash128(true)', {}, /Murmur3Hash128: expected a string, got bool/],
    ['ToSnakeCase(1)', {}, /ToSnakeCase: expected a string, got int/],
    ['ConvertCase(attributes["missing"], "snake")', {}, /ConvertCase: expected a string, got nil/],
    ['Index(1, 1)', {}, /Index: the target must be a string or a slice, got int/],
    ['Index("abc", 1)', {}, /Index: when the target is a string, the value must be a string too/],
    ['Values("x")', {}, /Values: expected a map, got string/],
    ['ToKeyValueString([1])', {}, /ToKeyValueString: expected a map, got slice/],
    ['SliceToMap("x")', {}, /SliceToMap: expected a slice, got string/],
    ['ParseCSV("a,b", "x,y,z")', {}, /wrong number of fields: expected 3, found 2/],
    ['ParseCSV("a,\\"b", "x,y")', {}, /ParseCSV: read csv line/],
    ['ParseCSV("a,b\\"c", "x,y")', {}, /ParseCSV: read csv line: parse error on line 1: bare " in non-quoted-field/],
    ['ParseCSV("", "x")', {}, /ParseCSV: no csv lines found/],
    ['ParseCSV("a", "")', {}, /headers must not be an empty string/],
    ['ParseInt("notANumber", 10)', {}, /strconv.ParseInt: parsing "notANumber": invalid syntax/],
    ['ParseInt("9223372036854775808", 10)', {}, /value out of range/],
    ['ParseInt("12", 37)', {}, /invalid base 37/],
    ['ParseInt("1__0", 0)', {}, /invalid syntax/],
    ['ParseInt("1_0", 10)', {}, /invalid syntax/],
    ['ParseInt(12, 10)', {}, /ParseInt: expected a string, got int/],
    ['ParseSeverity(1.5, {"info":[{"range":"2xx"}]})', {}, /could not map log level: the value must be a string or an int, got double/],
    ['ParseSeverity("info", {"info":["info", "inf"]})', {}, /invalid severity mapping criteria: each criterion must be a map/],
    ['ParseSeverity(400, {"error":"invalid"})', {}, /the criteria of "error" must be a list, got string/],
    ['ParseSeverity(400, {"error":[{"range":{"min":"foo", "max":599}}]})', {}, /invalid severity mapping criteria: min must be an int, got string/],
    ['ParseSeverity(400, {"error":[{"range":{"max":599}}]})', {}, /invalid severity mapping criteria: range must have a min value/],
    ['ParseSeverity(400, {"error":[{"range":{"min":400}}]})', {}, /invalid severity mapping criteria: range must have a max value/],
    ['ParseSeverity("x", {"info":[{"equals":["inf"]}]})', {}, /no matching log level found for value 'x'/],
    ['URL("")', {}, /URL: url cannot be empty/],
    ['SpanID(attributes["s"])', { attributes: { s: '01020304' } }, /SpanID: expected 8 bytes or 16 hex characters, got "01020304"/],
    ['UserAgent(attributes["missing"])', {}, /UserAgent: expected a string, got nil/],
    ['UserAgent(1)', {}, /UserAgent: expected a string, got int/],
    ['URL("http://h/%zz")', {}, /invalid URL escape "%zz"/],
    ['URL("http://h:port/")', {}, /invalid port ":port" after host/],
    ['URL(":x")', {}, /missing protocol scheme/],
    ['IsInCIDR(attributes["ip"], [attributes["net"]])', { attributes: { ip: '10.0.0.1', net: 'x' } }, /IsInCIDR: invalid CIDR address: x/],
    ['IsInCIDR(attributes["missing"], ["10.0.0.0/8"])', {}, /IsInCIDR: expected a string, got nil/],
    ['CommunityID("invalid-ip", 80, "10.0.0.1", 12345)', {}, /invalid source IP: invalid-ip/],
    ['CommunityID("10.0.0.1", 80, "10.0.0.2", 12345, "UNKNOWN")', {}, /unsupported protocol: UNKNOWN/],
    ['CommunityID("10.0.0.1", 0, "10.0.0.2", 12345)', {}, /source port must be between 1 and 65535, got 0/],
    ['CommunityID("10.0.0.1", 80, "10.0.0.2", 65536)', {}, /destination port must be between 1 and 65535, got 65536/],
    ['CommunityID("10.0.0.1", 80, "10.0.0.2", 443, "TCP", 70000)', {}, /seed must be between 0 and 65535, got 70000/],
    ['CommunityID("10.0.0.1", "80", "10.0.0.2", 443)', {}, /the source port must be an int, got string/],
    ['time + time', {}, /cannot compute time \+ time/],
    ['Decode("aGVsbG8gd29ybGQ", "base64")', {}, /Decode: could not decode: illegal base64 data/],
    ['Decode("a!b=", "base64")', {}, /Decode: could not decode: illegal base64 data at input byte 1/],
    ['Decode("x", "klingon")', {}, /Decode: no charset named "klingon"/],
    ['Decode(1, "base64")', {}, /Decode: unsupported type provided to Decode function: int/],
    ['IsValidLuhn("4111-1111")', {}, /IsValidLuhn: strconv.Atoi: parsing "-": invalid syntax/],
    ['IsValidLuhn(attributes["missing"])', {}, /IsValidLuhn: invalid input: <nil>/],
    ['Log(0)', {}, /Log: invalid input: expected a number greater than zero but got 0/],
    ['Log(false)', {}, /Log: invalid input: expected a number greater than zero but got 0/],
    ['Log("ten")', {}, /Log: strconv.ParseFloat: parsing "ten": invalid syntax/],
    ['Log(attributes["missing"])', {}, /Log: invalid input: <nil>/],
    ['Duration("1h") - time', {}, /cannot compute duration - time/],
  ] as [string, LogSpec, RegExp][])('%s fails at run time; error_mode ignore leaves the record as it was', (expr, spec, err) => {
    expect(() => out(expr, spec)).toThrow(err);
    const kept = runOnLog(
      [`set(attributes["out"], ${expr})`, 'set(attributes["after"], true)'],
      { ...spec, attributes: { ...spec.attributes, n: 1n } },
      'ignore',
    );
    const attrs = fromKeyValues(firstLog(kept).attributes);
    expect(attrs.has('out')).toBe(false);
    // The next statement still runs (the collector's ignore: log and go on).
    expect(attrs.get('after')).toBe(true);
  });

  it.each([
    ['FormatTime(time, "")', /FormatTime: format cannot be empty/],
    ['FormatTime(time, "%Q")', /FormatTime: "%Q": unsupported directive %Q/],
    ['FormatTime(time, attributes["f"])', /FormatTime: format must be a string literal/],
    ['ConvertCase(body, "kebab")', /ConvertCase: invalid case "kebab"; the cases are lower, upper, snake, camel/],
    ['Sort(body, "up")', /Sort: order must be "asc" or "desc", got "up"/],
    ['ToKeyValueString(body, "")', /delimiter cannot be an empty string/],
    ['ToKeyValueString(body, "=", "=")', /pair_delimiter "=" cannot be equal to delimiter "="/],
    ['ToKeyValueString(body, sort_output="yes")', /sort_output must be a bool literal/],
    ['SliceToMap(body, "name")', /keyPath must be a list of strings/],
    ['SliceToMap(body, [])', /keyPath must name at least one key/],
    ['ParseCSV(body, "a,b", delimiter="||")', /delimiter must be a single character/],
    ['ParseCSV(body, "a,b", mode="loose")', /unknown mode "loose"; the modes are strict, lazyQuotes, ignoreQuotes/],
    ['ParseInt(body, -1)', /invalid base -1/],
    ['Format(body, [1])', /Format: formatString must be a string literal/],
    ['Format("%d", 1)', /Format: formatArguments must be a list/],
    ['IsInCIDR(body, ["10.0.0.0/33"])', /IsInCIDR: invalid CIDR address: 10.0.0.0\/33/],
    ['IsInCIDR(body, ["10.0.0.1"])', /IsInCIDR: invalid CIDR address: 10.0.0.1/],
    ['GetXML(body, "/a")', /converter GetXML is not supported yet by GopherShip/],
    ['TraceID("a389023abaa839283293ed323892389")', /TraceID: expected a 16-byte literal such as 0x0{32}, or 32 hex characters/],
    ['Time(body, "%Y", "Mars/Olympus_Mons")', /Time: unknown time zone "Mars\/Olympus_Mons"/],
  ])('%s is refused at config load', (expr, err) => {
    expect(() => compileStatement(`set(attributes["out"], ${expr})`, 'log', 'logs')).toThrow(OttlError);
    expect(() => compileStatement(`set(attributes["out"], ${expr})`, 'log', 'logs')).toThrow(err);
  });
});
