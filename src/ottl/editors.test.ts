/**
 * One table per editor, inputs and expected outputs taken from the ottlfuncs README's descriptions
 * (flatten's rows are its README examples). Each row runs one statement on a log record and compares the
 * record's attributes (or body) afterwards.
 */
import { describe, expect, it } from 'vitest';
import { fromAnyValue, fromKeyValues, type Value } from './values.js';
import { firstLog, runOnLog, vmap, type LogSpec } from './test-support.js';
import { compileStatement } from './compile.js';
import { createHash } from 'node:crypto';

type Row = [statement: string, spec: LogSpec, expected: Value];

const attrsAfter = (stmt: string, spec: LogSpec): Value => fromKeyValues(firstLog(runOnLog([stmt], spec)).attributes);
const bodyAfter = (stmt: string, spec: LogSpec): Value => fromAnyValue(firstLog(runOnLog([stmt], spec)).body);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const ATTRS: Record<string, Row[]> = {
  set: [
    ['set(attributes["env"], "prod")', { attributes: { a: 1n } }, vmap({ a: 1n, env: 'prod' })],
    ['set(attributes["env"], "prod")', { attributes: { env: 'dev' } }, vmap({ env: 'prod' })],
    // set with nil is no action.
    ['set(attributes["env"], attributes["missing"])', { attributes: { env: 'dev' } }, vmap({ env: 'dev' })],
    ['set(attributes["copy"], resource.attributes["service.name"])', { resource: { 'service.name': 'api' } }, vmap({ copy: 'api' })],
    ['set(attributes["m"]["inner"], 1)', { attributes: { m: vmap({}) } }, vmap({ m: vmap({ inner: 1n }) })],
    ['set(attributes["list"], [1, "two", 3.0])', {}, vmap({ list: [1n, 'two', 3] })],
  ],
  delete_key: [
    [
      'delete_key(attributes, "http.request.header.authorization")',
      { attributes: { 'http.request.header.authorization': 'x', keep: 'y' } },
      vmap({ keep: 'y' }),
    ],
    ['delete_key(attributes, "absent")', { attributes: { keep: 'y' } }, vmap({ keep: 'y' })],
  ],
  delete_matching_keys: [
    ['delete_matching_keys(attributes, "(?i).*password.*")', { attributes: { Password: 'a', db_PASSWORD_x: 'b', user: 'c' } }, vmap({ user: 'c' })],
  ],
  keep_keys: [
    ['keep_keys(attributes, ["http.method"])', { attributes: { 'http.method': 'GET', 'http.url': 'u', other: 1n } }, vmap({ 'http.method': 'GET' })],
    ['keep_keys(attributes, ["a", "b"])', { attributes: { b: 1n, c: 2n } }, vmap({ b: 1n })],
  ],
  keep_matching_keys: [['keep_matching_keys(attributes, "(?i).*version.*")', { attributes: { 'app.Version': '1', name: 'x' } }, vmap({ 'app.Version': '1' })]],
  limit: [
    ['limit(attributes, 2, [])', { attributes: { a: 1n, b: 2n, c: 3n } }, vmap({ a: 1n, b: 2n })],
    ['limit(attributes, 2, ["c"])', { attributes: { a: 1n, b: 2n, c: 3n } }, vmap({ a: 1n, c: 3n })],
    ['limit(attributes, 5, [])', { attributes: { a: 1n } }, vmap({ a: 1n })],
  ],
  truncate_all: [
    ['truncate_all(attributes, 3)', { attributes: { s: 'abcdef', n: 123456n } }, vmap({ s: 'abc', n: 123456n })],
    ['truncate_all(attributes, 0)', { attributes: { s: 'abc' } }, vmap({ s: '' })],
    // The optional utf8_safe and truncation_marker (the marker counts against the limit).
    ['truncate_all(attributes, 8, false, "(...)")', { attributes: { s: 'abcdefghij', t: 'short' } }, vmap({ s: 'abc(...)', t: 'short' })],
    ['truncate_all(attributes, 6, truncation_marker = "..")', { attributes: { s: 'añbcdefg' } }, vmap({ s: 'añb..' })],
    ['truncate_all(attributes, 4, true)', { attributes: { s: 'héllo' } }, vmap({ s: 'hél' })],
  ],
  replace_pattern: [
    [
      'replace_pattern(attributes["cmd"], "password\\\\=[^\\\\s]*(\\\\s?)", "password=***")',
      { attributes: { cmd: 'run --password=hunter2 --x' } },
      vmap({ cmd: 'run --password=***--x' }) /* the pattern takes the space after the value too */,
    ],
    ['replace_pattern(attributes["name"], "^kube_([0-9A-Za-z]+_)", "k8s.$1.")', { attributes: { name: 'kube_pod_status' } }, vmap({ name: 'k8s.pod_.status' })],
    [
      'replace_pattern(attributes["name"], "^kube_([0-9A-Za-z]+_)", "$1.", SHA256, "k8s.%s")',
      { attributes: { name: 'kube_pod_x' } },
      vmap({ name: `k8s.${sha('pod_.')}x` }),
    ],
  ],
  replace_all_patterns: [
    [
      'replace_all_patterns(attributes, "value", "/account/\\\\d{4}", "/account/{accountId}")',
      { attributes: { a: '/account/1234', b: '/other', n: 1n } },
      vmap({ a: '/account/{accountId}', b: '/other', n: 1n }),
    ],
    [
      'replace_all_patterns(attributes, "key", "^kube_([0-9A-Za-z]+_)", "k8s.$1.")',
      { attributes: { kube_pod_name: 'x', other: 'y' } },
      vmap({ other: 'y', 'k8s.pod_.name': 'x' }),
    ],
  ],
  replace_match: [
    [
      'replace_match(attributes["http.target"], "/user/*/list/*", "/user/{userId}/list/{listId}")',
      { attributes: { 'http.target': '/user/12/list/34' } },
      vmap({ 'http.target': '/user/{userId}/list/{listId}' }),
    ],
    [
      'replace_match(attributes["http.target"], "/user/*/list/*", "x")',
      { attributes: { 'http.target': '/user/12/other' } },
      vmap({ 'http.target': '/user/12/other' }),
    ],
    ['replace_match(attributes["t"], "/user/*", "v", SHA256, "/user/%s")', { attributes: { t: '/user/7' } }, vmap({ t: `/user/${sha('v')}` })],
    // The collector compiles the pattern with gobwas/glob (no separators): `*` runs past "/", `?` is one
    // character, `[!...]` negates a class, `{a,b}` are alternatives.
    ['replace_match(attributes["t"], "/api/*", "/api/{path}")', { attributes: { t: '/api/v1/users?id=3' } }, vmap({ t: '/api/{path}' })],
    ['replace_match(attributes["t"], "/v?/x", "y")', { attributes: { t: '/v2/x' } }, vmap({ t: 'y' })],
    ['replace_match(attributes["t"], "/v?/x", "y")', { attributes: { t: '/v10/x' } }, vmap({ t: '/v10/x' })],
    ['replace_match(attributes["t"], "{GET,POST} /orders/*", "orders")', { attributes: { t: 'POST /orders/7' } }, vmap({ t: 'orders' })],
    ['replace_match(attributes["t"], "{GET,POST} /orders/*", "orders")', { attributes: { t: 'PUT /orders/7' } }, vmap({ t: 'PUT /orders/7' })],
    ['replace_match(attributes["t"], "id-[!0-9]*", "named")', { attributes: { t: 'id-x1' } }, vmap({ t: 'named' })],
    ['replace_match(attributes["t"], "id-[!0-9]*", "named")', { attributes: { t: 'id-1x' } }, vmap({ t: 'id-1x' })],
    ['replace_match(attributes["t"], "a\\\\*b", "lit")', { attributes: { t: 'a*b' } }, vmap({ t: 'lit' })],
    ['replace_match(attributes["t"], "a\\\\*b", "lit")', { attributes: { t: 'axb' } }, vmap({ t: 'axb' })],
  ],
  replace_all_matches: [
    [
      'replace_all_matches(attributes, "/user/*/list/*", "/user/{userId}/list/{listId}")',
      { attributes: { a: '/user/1/list/2', b: '/user/1', c: 3n } },
      vmap({ a: '/user/{userId}/list/{listId}', b: '/user/1', c: 3n }),
    ],
    ['replace_all_matches(attributes, "https://*", "redacted")', { attributes: { a: 'https://h/p/q', b: 'http://h' } }, vmap({ a: 'redacted', b: 'http://h' })],
  ],
  merge_maps: [
    [
      'merge_maps(attributes, ParseJSON(body), "upsert")',
      { body: '{"a":"new","c":"add"}', attributes: { a: 'old', b: 'keep' } },
      vmap({ a: 'new', b: 'keep', c: 'add' }),
    ],
    ['merge_maps(attributes, ParseJSON(body), "insert")', { body: '{"a":"new","c":"add"}', attributes: { a: 'old' } }, vmap({ a: 'old', c: 'add' })],
    ['merge_maps(attributes, ParseJSON(body), "update")', { body: '{"a":"new","c":"add"}', attributes: { a: 'old' } }, vmap({ a: 'new' })],
  ],
  append: [
    // The ottlfuncs README's examples: onto a list, a scalar (it becomes the first item) and nothing.
    ['append(attributes["tags"], "prod")', { attributes: { tags: ['a'] } }, vmap({ tags: ['a', 'prod'] })],
    ['append(attributes["tags"], values = ["staging", "staging:east"])', { attributes: { tags: 'a' } }, vmap({ tags: ['a', 'staging', 'staging:east'] })],
    ['append(attributes["tags"], value = 1, values = [true, attributes["n"]])', { attributes: { n: 2.5 } }, vmap({ n: 2.5, tags: [1n, true, 2.5] })],
    ['append(attributes["tags"], [1, 2])', { attributes: { tags: [0n] } }, vmap({ tags: [0n, [1n, 2n]] })],
  ],
  delete_index: [
    ['delete_index(attributes["l"], 1)', { attributes: { l: ['a', 'b', 'c'] } }, vmap({ l: ['a', 'c'] })],
    ['delete_index(attributes["l"], 0, 2)', { attributes: { l: ['a', 'b', 'c'] } }, vmap({ l: ['c'] })],
    ['delete_index(attributes["l"], 0, 3)', { attributes: { l: ['a', 'b', 'c'] } }, vmap({ l: [] })],
    ['delete_index(attributes["l"], 1, 1)', { attributes: { l: ['a', 'b'] } }, vmap({ l: ['a', 'b'] })],
  ],
  flatten: [
    [
      'flatten(attributes)',
      { attributes: { name: 'test', address: vmap({ street: 'first', house: 1234n }), occupants: ['user 1', 'user 2'] } },
      vmap({ name: 'test', 'address.street': 'first', 'address.house': 1234n, 'occupants.0': 'user 1', 'occupants.1': 'user 2' }),
    ],
    [
      'flatten(attributes, "app")',
      { attributes: { name: 'test', address: vmap({ street: 'first' }) } },
      vmap({ 'app.name': 'test', 'app.address.street': 'first' }),
    ],
    [
      'flatten(attributes, depth=2)',
      { attributes: { '0': vmap({ '1': vmap({ '2': vmap({ '3': vmap({ '4': 'value' }) }) }) }) } },
      vmap({ '0.1.2': vmap({ '3': vmap({ '4': 'value' }) }) }),
    ],
    ['flatten(attributes, depth=0)', { attributes: { a: vmap({ b: 'c' }) } }, vmap({ a: vmap({ b: 'c' }) })],
  ],
};

describe('OTTL editors (ottlfuncs README)', () => {
  for (const [name, rows] of Object.entries(ATTRS)) {
    it.each(rows)(`${name}: %s`, (stmt, spec, expected) => {
      expect(attrsAfter(stmt, spec)).toEqual(expected);
    });
  }

  it('replace_pattern on the body, and set on body fields', () => {
    expect(bodyAfter('replace_pattern(body, "\\\\d{3}-\\\\d{2}-\\\\d{4}", "***-**-****")', { body: 'ssn 123-45-6789 and 987-65-4321' })).toBe(
      'ssn ***-**-**** and ***-**-****',
    );
    expect(bodyAfter('set(body["level"], "warn")', { body: vmap({ msg: 'x' }) })).toEqual(vmap({ msg: 'x', level: 'warn' }));
  });

  it('where clauses decide per record', () => {
    expect(attrsAfter('set(attributes["hit"], true) where attributes["n"] > 5 and not IsMatch(body, "skip")', { attributes: { n: 6n }, body: 'go' })).toEqual(
      vmap({ n: 6n, hit: true }),
    );
    expect(
      attrsAfter('set(attributes["hit"], true) where attributes["n"] > 5 and not IsMatch(body, "skip")', { attributes: { n: 6n }, body: 'skip me' }),
    ).toEqual(vmap({ n: 6n }));
    expect(
      attrsAfter('set(attributes["hit"], true) where (attributes["n"] < 0 or attributes["n"] >= 10.5) and attributes["x"] == nil', { attributes: { n: 11n } }),
    ).toEqual(vmap({ n: 11n, hit: true }));
    expect(attrsAfter('set(attributes["hit"], true) where severity_number >= SEVERITY_NUMBER_WARN', { severityNumber: 17 })).toEqual(vmap({ hit: true }));
    expect(attrsAfter('set(attributes["hit"], true) where severity_number >= SEVERITY_NUMBER_WARN', { severityNumber: 9 })).toEqual(vmap({}));
    // Bools are ordered, false < true (LANGUAGE.md, Comparison Rules).
    expect(attrsAfter('set(attributes["hit"], true) where attributes["b"] > false', { attributes: { b: true } })).toEqual(vmap({ b: true, hit: true }));
    expect(attrsAfter('set(attributes["hit"], true) where attributes["b"] >= true', { attributes: { b: false } })).toEqual(vmap({ b: false }));
  });

  it('an absent trace or span ID reads as the zero ID, its string form as ""', () => {
    const zeroTrace = 'TraceID(0x00000000000000000000000000000000)';
    expect(attrsAfter(`set(attributes["hit"], true) where trace_id == ${zeroTrace} and span_id == SpanID(0x0000000000000000)`, {})).toEqual(
      vmap({ hit: true }),
    );
    expect(attrsAfter(`set(attributes["hit"], true) where trace_id == ${zeroTrace}`, { traceId: new Uint8Array(16).fill(7) })).toEqual(vmap({}));
    expect(attrsAfter('set(attributes["t"], trace_id.string)', {})).toEqual(vmap({ t: '' }));
    expect(attrsAfter('set(attributes["t"], trace_id.string)', { traceId: new Uint8Array(16) })).toEqual(vmap({ t: '' }));
  });

  it('delete_index and append refuse what the collector refuses, when the statement runs', () => {
    const list = { attributes: { l: ['a', 'b'], m: vmap({ k: 'v' }) } };
    expect(() => runOnLog(['delete_index(attributes["l"], 2)'], list)).toThrow(/startIndex 2 out of bounds for a list of length 2/);
    expect(() => runOnLog(['delete_index(attributes["l"], 1, 0)'], list)).toThrow(/endIndex 0 cannot be less than startIndex 1/);
    expect(() => runOnLog(['delete_index(attributes["l"], 0, 3)'], list)).toThrow(/deletion range \[0:3\] out of bounds/);
    expect(() => runOnLog(['delete_index(attributes["m"], 0)'], list)).toThrow(/is a map, not a list/);
    expect(() => runOnLog(['append(attributes["m"], "x")'], list)).toThrow(/is a map, which cannot be appended to/);
  });

  it('cache is a per-record scratch map', () => {
    const req = runOnLog(['set(cache["parsed"], ParseJSON(body))', 'set(attributes["user"], cache["parsed"]["user"])'], { body: '{"user":"bob"}' });
    expect(fromKeyValues(firstLog(req).attributes)).toEqual(vmap({ user: 'bob' }));
  });

  it.each([
    ['limit(attributes, 1, ["a", "b"])', /do not fit a limit/],
    ['truncate_all(attributes, 3, true, "(...)")', /truncation_marker \(5 bytes\) is longer than the limit 3/],
    ['replace_all_patterns(attributes, "both", "a", "b")', /mode must be "key" or "value"/],
    ['merge_maps(attributes, body, "overwrite")', /strategy must be insert, update or upsert/],
    ['replace_pattern(body, "a", "b", Nope)', /function must name a converter/],
    ['replace_pattern(body, "a", "b", SHA256, "no placeholder")', /exactly one %s/],
    ['set("literal", 1)', /target must be a path/],
    ['set(attributes["a"], 1, 2)', /takes at most 2 arguments/],
    ['nope(attributes)', /unknown editor "nope"/],
    ['append(attributes["tags"])', /give at least one of value and values/],
    ['append(attributes["tags"], values = attributes["x"])', /values must be a list/],
    ['set(metric.name, "x")', /there is no metric context in logs/],
    ['set(nosuch, 1)', /log has no field "nosuch"/],
  ])('%s is refused at config load', (stmt, err) => {
    expect(() => compileStatement(stmt, 'log', 'logs')).toThrow(err);
  });
});
