import { describe, expect, it } from 'vitest';
import { encodeLenField } from '../pdata/wire-primitives.js';
import { encodeAnyValue, encodeKeyValue, utf8, type JsAnyValue } from './any-value.js';
import { AttrList } from './attr-list.js';
import { MatchRule, attrsMatcher, formatFloatF, stringSet } from './match-rules.js';

/** An AttrList over a message whose field 1 holds the given attributes. */
function attrs(values: Record<string, JsAnyValue>): AttrList {
  const fields = Object.entries(values).map(([k, v]) => encodeLenField(1, encodeKeyValue(utf8(k), encodeAnyValue(v))));
  const msg = Buffer.concat(fields);
  return new AttrList().load(msg, 0, msg.length, 1);
}

describe('match rules shared by the attributes and filter processors', () => {
  it('string sets: strict is whole-string equality, regexp an unanchored search; an empty list is no criterion', () => {
    expect(stringSet([], false)).toBeUndefined();
    expect(stringSet(['GET'], false)!.matches('GET /x')).toBe(false);
    expect(stringSet(['GET'], true)!.matches('GET /x')).toBe(true);
    expect(stringSet(['^a', 'b$'], true)!.matches('xb')).toBe(true);
  });

  it('strict attributes compare type and value; an integral config number also equals a double of that value', () => {
    const a = attrs({ code: 500, ratio: { double: 5 }, ok: true, name: 'x', list: ['a', 1] });
    const m = (key: string, value: unknown) => attrsMatcher([{ key, value }], false)!(a);
    expect(m('code', 500)).toBe(true);
    expect(m('code', '500')).toBe(false);
    expect(m('ratio', 5)).toBe(true);
    expect(m('ratio', 5.5)).toBe(false);
    expect(m('ok', true)).toBe(true);
    expect(m('ok', 'true')).toBe(false);
    expect(m('name', 'x')).toBe(true);
    expect(m('list', ['a', 1])).toBe(true);
    expect(m('list', ['a', 2])).toBe(false);
    expect(m('absent', undefined)).toBe(false);
    expect(attrsMatcher([{ key: 'name' }, { key: 'code' }], false)!(a)).toBe(true);
  });

  it('regexp attributes search the string form of scalars (doubles as strconv f), never lists or maps', () => {
    const a = attrs({ code: 503, big: { double: 1e21 }, ok: false, list: ['5'] });
    const m = (key: string, value: string) => attrsMatcher([{ key, value }], true)!(a);
    expect(m('code', '^5\\d\\d$')).toBe(true);
    expect(m('big', '^1000000000000000000000$')).toBe(true);
    expect(m('ok', '^false$')).toBe(true);
    expect(m('list', '5')).toBe(false);
    expect(formatFloatF(1.5e-7)).toBe('0.00000015');
  });

  it('services read service.name as a string, and <nil-service-name> when the resource has none', () => {
    const rule = new MatchRule({ matchType: 'strict', services: ['<nil-service-name>'] });
    expect(rule.resource!(attrs({ host: 'h' }))).toBe(true);
    expect(rule.resource!(attrs({ 'service.name': 'api' }))).toBe(false);
    const byName = new MatchRule({ matchType: 'regexp', services: ['^api$'], resources: [{ key: 'env', value: '^prod' }] });
    expect(byName.resource!(attrs({ 'service.name': 'api', env: 'production' }))).toBe(true);
    expect(byName.resource!(attrs({ 'service.name': 'api', env: 'dev' }))).toBe(false);
    // Parts without criteria are absent, so a walk does not visit what it need not judge.
    expect(byName.scope).toBeUndefined();
    expect(byName.record).toBeUndefined();
    expect(new MatchRule({ matchType: 'strict', libraries: [{ name: 'lib', version: '1' }] }).scope!('lib', '2')).toBe(false);
  });
});
