/**
 * One table per converter, inputs and expected outputs taken from the ottlfuncs README's descriptions.
 * Each row sets attributes["out"] from the converter and reads it back.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromKeyValues, OttlTime, type Value } from './values.js';
import { firstLog, runOnLog, vmap, type LogSpec } from './test-support.js';
import { compileStatement, OttlError } from './compile.js';

type Row = [expr: string, spec: LogSpec, expected: Value];

function out(expr: string, spec: LogSpec): Value {
  const req = runOnLog([`set(attributes["out"], ${expr})`], spec);
  return fromKeyValues(firstLog(req).attributes).get('out') ?? null;
}

const TABLES: Record<string, Row[]> = {
  IsMatch: [
    ['IsMatch(attributes["p"], "^/api/.*")', { attributes: { p: '/api/users' } }, true],
    ['IsMatch(attributes["p"], "^/api/.*")', { attributes: { p: '/web' } }, false],
    // Non-string values are matched on their string form; nil never matches.
    ['IsMatch(attributes["n"], "^12")', { attributes: { n: 123n } }, true],
    ['IsMatch(attributes["missing"], ".*")', {}, false],
    // Bytes are matched as base64, maps and slices as JSON (the README's conversions).
    ['IsMatch(attributes["b"], "^AQI=$")', { attributes: { b: Uint8Array.from([1, 2]) } }, true],
    ['IsMatch(attributes["m"], "\\"user\\":\\"bob\\"")', { attributes: { m: vmap({ user: 'bob' }) } }, true],
    ['IsMatch(attributes["l"], "^\\[1,\\"a\\"\\]$")', { attributes: { l: [1n, 'a'] } }, true],
    // RE2's POSIX classes and \\A / \\z read as Go reads them.
    ['IsMatch(attributes["p"], "^[[:digit:]]{3}$")', { attributes: { p: '503' } }, true],
    ['IsMatch(attributes["p"], "^[[:digit:]]{3}$")', { attributes: { p: 'a:b' } }, false],
    ['IsMatch(attributes["p"], "\\\\Aok\\\\z")', { attributes: { p: 'ok' } }, true],
  ],
  IsString: [
    ['IsString(body)', { body: 'text' }, true],
    ['IsString(body)', { body: 1n }, false],
  ],
  IsInt: [
    ['IsInt(attributes["n"])', { attributes: { n: 5n } }, true],
    ['IsInt(attributes["n"])', { attributes: { n: 5.0 } }, false],
  ],
  IsMap: [
    ['IsMap(body)', { body: vmap({ a: 'b' }) }, true],
    ['IsMap(body)', { body: 'x' }, false],
  ],
  Concat: [
    ['Concat([attributes["a"], "-", attributes["b"]], "")', { attributes: { a: 'x', b: 'y' } }, 'x-y'],
    ['Concat(["a", 1, true, 2.5], ", ")', {}, 'a, 1, true, 2.5'],
    // A nil value is written "<nil>" (func_concat.go writes it so).
    ['Concat([attributes["a"], attributes["missing"]], "|")', { attributes: { a: 'x' } }, 'x|<nil>'],
  ],
  Split: [
    ['Split(attributes["s"], ",")', { attributes: { s: 'A,B,C' } }, ['A', 'B', 'C']],
    ['Split(attributes["s"], "|")', { attributes: { s: 'abc' } }, ['abc']],
  ],
  Substring: [
    ['Substring(attributes["s"], 3, 3)', { attributes: { s: '123456789' } }, '456'],
    ['Substring(attributes["s"], 0, 1)', { attributes: { s: 'xyz' } }, 'x'],
    // Start and length are byte offsets (the README); utf8_safe keeps characters whole.
    ['Substring(attributes["s"], 3, 6)', { attributes: { s: '一二三' } }, '二三'],
    ['Substring(attributes["s"], 0, 4, true)', { attributes: { s: '一二三' } }, '一'],
    ['Substring(attributes["s"], 1, 7, true)', { attributes: { s: '一二三' } }, '二'],
  ],
  ToLowerCase: [['ToLowerCase(attributes["s"])', { attributes: { s: 'MyText' } }, 'mytext']],
  ToUpperCase: [['ToUpperCase(attributes["s"])', { attributes: { s: 'MyText' } }, 'MYTEXT']],
  Len: [
    ['Len(attributes["s"])', { attributes: { s: 'hello' } }, 5n],
    ['Len(attributes["l"])', { attributes: { l: ['a', 'b', 'c'] } }, 3n],
    ['Len(body)', { body: vmap({ a: 1n, b: 2n }) }, 2n],
  ],
  Int: [
    ['Int(attributes["v"])', { attributes: { v: 1.1 } }, 1n],
    ['Int(attributes["v"])', { attributes: { v: -1.9 } }, -1n],
    ['Int(attributes["v"])', { attributes: { v: '1234' } }, 1234n],
    ['Int(attributes["v"])', { attributes: { v: true } }, 1n],
    // Not convertible: nil, and set() with nil does nothing.
    ['Int(attributes["v"])', { attributes: { v: 'abc' } }, null],
  ],
  Double: [
    ['Double(attributes["v"])', { attributes: { v: 1n } }, 1],
    ['Double(attributes["v"])', { attributes: { v: '1.5' } }, 1.5],
    ['Double(attributes["v"])', { attributes: { v: false } }, 0],
    ['Double(attributes["v"])', { attributes: { v: 'x' } }, null],
  ],
  String: [
    ['String(attributes["v"])', { attributes: { v: 42n } }, '42'],
    ['String(attributes["v"])', { attributes: { v: true } }, 'true'],
    ['String(attributes["v"])', { attributes: { v: 1.5 } }, '1.5'],
    ['String(attributes["v"])', { attributes: { v: Uint8Array.from([0xde, 0xad]) } }, 'dead'],
    ['String(body)', { body: vmap({ k: 'v' }) }, '{"k":"v"}'],
  ],
  SHA256: [['SHA256(attributes["v"])', { attributes: { v: 'secret' } }, createHash('sha256').update('secret').digest('hex')]],
  ParseJSON: [['ParseJSON(body)', { body: '{"a":"b","n":1,"nested":{"x":[true]}}' }, vmap({ a: 'b', n: 1, nested: vmap({ x: [true] }) })]],
  ParseKeyValue: [
    ['ParseKeyValue(body)', { body: 'name=alice age=30' }, vmap({ name: 'alice', age: '30' })],
    ['ParseKeyValue(body, ":", ",")', { body: 'k1:v1,k2:"v 2"' }, vmap({ k1: 'v1', k2: 'v 2' })],
  ],
  ExtractPatterns: [
    ['ExtractPatterns(body, "^(?P<method>[A-Z]+) (?P<path>\\\\S+)")', { body: 'GET /health HTTP/1.1' }, vmap({ method: 'GET', path: '/health' })],
    ['ExtractPatterns(body, "id=(?P<id>\\\\d+)")', { body: 'no match' }, vmap({})],
  ],
  Time: [
    ['Time(attributes["t"], "%Y-%m-%dT%H:%M:%S%z")', { attributes: { t: '2023-05-26T12:34:56+0000' } }, BigInt(Date.UTC(2023, 4, 26, 12, 34, 56)) * 1_000_000n],
    [
      'Time(attributes["t"], "%Y-%m-%d %H:%M:%S.%f")',
      { attributes: { t: '2020-01-02 03:04:05.123456' } },
      BigInt(Date.UTC(2020, 0, 2, 3, 4, 5)) * 1_000_000n + 123_456_000n,
    ],
    ['Time(attributes["t"], "%b %d %Y", "America/New_York")', { attributes: { t: 'Jan 15 2024' } }, BigInt(Date.UTC(2024, 0, 15, 5)) * 1_000_000n],
    // The README's table: %s is the nanosecond field, not epoch seconds; the shorthands and zone forms.
    [
      'Time(attributes["t"], "%F %T.%s")',
      { attributes: { t: '2023-05-26 12:34:56.000000123' } },
      BigInt(Date.UTC(2023, 4, 26, 12, 34, 56)) * 1_000_000n + 123n,
    ],
    ['Time(attributes["t"], "%D %R %P")', { attributes: { t: '05/26/23 01:02 pm' } }, BigInt(Date.UTC(2023, 4, 26, 13, 2)) * 1_000_000n],
    ['Time(attributes["t"], "%d/%m/%y")', { attributes: { t: '01/02/99' } }, BigInt(Date.UTC(1999, 1, 1)) * 1_000_000n],
    ['Time(attributes["t"], "%c")', { attributes: { t: 'Mon Jan 02 15:04:05 2006' } }, BigInt(Date.UTC(2006, 0, 2, 15, 4, 5)) * 1_000_000n],
    ['Time(attributes["t"], "%Y-%m-%dT%H:%M:%S%j")', { attributes: { t: '2024-03-01T10:00:00-07:00' } }, BigInt(Date.UTC(2024, 2, 1, 17)) * 1_000_000n],
    ['Time(attributes["t"], "%Y-%m-%d %H:%M:%S %i")', { attributes: { t: '2024-03-01 10:00:00 +02' } }, BigInt(Date.UTC(2024, 2, 1, 8)) * 1_000_000n],
    ['Time(attributes["t"], "%Y-%m-%d %H:%M:%S %w")', { attributes: { t: '2024-03-01 10:00:30 +000030' } }, BigInt(Date.UTC(2024, 2, 1, 10)) * 1_000_000n],
  ],
  UnixNano: [['UnixNano(Time(attributes["t"], "%Y-%m-%d"))', { attributes: { t: '2000-01-01' } }, 946_684_800_000_000_000n]],
  TraceID: [['TraceID(0x0102030405060708090a0b0c0d0e0f10)', {}, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])]],
  SpanID: [['SpanID(0x0102030405060708)', {}, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])]],
  HasPrefix: [
    ['HasPrefix(resource.attributes["service.name"], "ingest_")', { resource: { 'service.name': 'ingest_service' } }, true],
    ['HasPrefix("ingest_service", "x")', {}, false],
  ],
  HasSuffix: [['HasSuffix("ingest_service", "_service")', {}, true]],
  TrimPrefix: [
    ['TrimPrefix(resource.attributes["service.name"], "ingest_")', { resource: { 'service.name': 'ingest_service' } }, 'service'],
    ['TrimPrefix("other", "ingest_")', {}, 'other'],
  ],
  TrimSuffix: [['TrimSuffix("ingest_service", "_service")', {}, 'ingest']],
  Trim: [
    ['Trim(" this is a test ", " ")', {}, 'this is a test'],
    ['Trim("!!this is a test!!", "!!")', {}, 'this is a test'],
    ['Trim("  padded  ")', {}, 'padded'],
  ],
  SHA1: [['SHA1("name")', {}, createHash('sha1').update('name').digest('hex')]],
  SHA512: [['SHA512("name")', {}, createHash('sha512').update('name').digest('hex')]],
  MD5: [['MD5("name")', {}, createHash('md5').update('name').digest('hex')]],
  Base64Encode: [
    ['Base64Encode("test string")', {}, 'dGVzdCBzdHJpbmc='],
    ['Base64Encode("a?>", "base64-url")', {}, 'YT8-'],
    ['Base64Encode("ab", "base64-url")', {}, 'YWI='],
    ['Base64Encode("ab", "base64-raw")', {}, 'YWI'],
    ['Base64Encode("ab", "base64-raw-url")', {}, 'YWI'],
  ],
  Base64Decode: [['Base64Decode("aGVsbG8gd29ybGQ=")', {}, 'hello world']],
  Bool: [
    ['Bool("True")', {}, true],
    ['Bool("0")', {}, false],
    ['Bool(attributes["n"])', { attributes: { n: 2n } }, true],
    ['Bool(0.0)', {}, false],
    ['Bool("yes")', {}, null],
  ],
  Coalesce: [
    ['Coalesce([attributes["user.id"], attributes["enduser.id"], "unknown"])', { attributes: { 'enduser.id': 'e1' } }, 'e1'],
    ['Coalesce([attributes["a"], "unknown"])', {}, 'unknown'],
  ],
  IsEmpty: [
    ['IsEmpty(attributes["missing"])', {}, true],
    ['IsEmpty("")', {}, true],
    ['IsEmpty(attributes["m"])', { attributes: { m: vmap({}) } }, true],
    ['IsEmpty(0)', {}, true],
    ['IsEmpty("x")', {}, false],
  ],
  Keys: [['Keys({"k1": "v1", "k2": "v2"})', {}, ['k1', 'k2']]],
  ContainsValue: [
    ['ContainsValue(attributes["tags"], "staging")', { attributes: { tags: ['prod', 'staging'] } }, true],
    ['ContainsValue([1, 2, 3, 4, 5], 3)', {}, true],
    ['ContainsValue([1.1, 2.2, 3.3, 4.4], 4.4)', {}, true],
    ['ContainsValue(["GET", "PUT", "POST"], "DELETE")', {}, false],
  ],
  Hex: [
    ['Hex(attributes["v"])', { attributes: { v: Uint8Array.from([1, 0xab]) } }, '01ab'],
    ['Hex(attributes["v"])', { attributes: { v: 1n } }, '0000000000000001'],
    ['Hex(attributes["v"])', { attributes: { v: 'hi' } }, '6869'],
  ],
};

describe('OTTL converters (ottlfuncs README)', () => {
  for (const [name, rows] of Object.entries(TABLES)) {
    it.each(rows)(`${name}: %s`, (expr, spec, expected) => {
      const got = out(expr, spec);
      // Times are stored as their UnixNano int when set into an attribute.
      expect(got).toEqual(expected);
    });
  }

  it('Now: a time close to the wall clock', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const got = out('UnixNano(Now())', {}) as bigint;
    expect(got).toBeGreaterThanOrEqual(before);
    expect(got - before).toBeLessThan(5_000_000_000n);
  });

  it('Time values stay times between converters (UnixNano of Time)', () => {
    expect(out('Time("1970-01-01 00:00:01", "%Y-%m-%d %H:%M:%S")', {})).toBe(1_000_000_000n);
    expect(new OttlTime(1n).ns).toBe(1n);
  });

  it.each([
    ['Substring(attributes["s"], 5, 10)', { attributes: { s: 'short' } }, /past the end/],
    ['ParseJSON(body)', { body: 'not json' }, /ParseJSON/],
    ['TraceID(attributes["s"])', { attributes: { s: 'x' } }, /expected 16 bytes/],
    ['HasPrefix(attributes["n"], "1")', { attributes: { n: 1n } }, /HasPrefix: expected a string, got int/],
    ['Keys(attributes["s"])', { attributes: { s: 'x' } }, /Keys: expected a map, got string/],
  ] as [string, LogSpec, RegExp][])('%s fails at run time as error_mode propagate reports it', (expr, spec, err) => {
    expect(() => out(expr, spec)).toThrow(err);
  });

  it.each([
    ['IsMatch(body, "(")', /not a valid regular expression/],
    ['ExtractPatterns(body, "[a-z]+")', /at least one named group/],
    ['TraceID(0x01)', /16-byte literal/],
    ['ParseKeyValue(body, "=", "=")', /cannot be the same/],
    ['Nope(body)', /unknown converter "Nope"/],
    ['Concat("a", "")', /must be a list/],
    ['Split(body)', /Split needs its delimiter argument/],
    ['Base64Encode(body, "base32")', /variant must be base64, base64-raw, base64-url or base64-raw-url/],
    ['Coalesce(body)', /must be a list of at least one value/],
  ])('%s is refused at config load', (expr, err) => {
    expect(() => compileStatement(`set(attributes["out"], ${expr})`, 'log', 'logs')).toThrow(OttlError);
    expect(() => compileStatement(`set(attributes["out"], ${expr})`, 'log', 'logs')).toThrow(err);
  });
});
