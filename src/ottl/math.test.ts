/**
 * Math expressions (LANGUAGE.md, Math Expressions): `+ - * /` on ints and on doubles, `*` and `/` before
 * `+` and `-`, left to right within a level, parentheses to group; in arguments and on either side of a
 * comparison. Each row sets attributes["out"] from an expression on a log record and reads it back.
 */
import { describe, expect, it } from 'vitest';
import { fromKeyValues, type Value } from './values.js';
import { firstLog, runOnLog, vmap, type LogSpec } from './test-support.js';

const out = (expr: string, spec: LogSpec = {}): Value =>
  fromKeyValues(firstLog(runOnLog([`set(attributes["out"], ${expr})`], spec)).attributes).get('out') ?? null;
const hit = (where: string, spec: LogSpec): boolean =>
  fromKeyValues(firstLog(runOnLog([`set(attributes["hit"], true) where ${where}`], spec)).attributes).get('hit') === true;

describe('OTTL math expressions', () => {
  it.each([
    ['attributes["n"] * 2', { attributes: { n: 5n } }, 10n],
    ['1 + 2 * 3', {}, 7n],
    ['(1 + 2) * 3', {}, 9n],
    ['10 - 4 - 3', {}, 3n],
    ['10 / 3', {}, 3n],
    ['-7 / 2', {}, -3n],
    ['7.0 / 2.0', {}, 3.5],
    ['attributes["d"] * 1000.0', { attributes: { d: 0.25 } }, 250],
    ['Len(attributes["s"]) - 1', { attributes: { s: 'abcd' } }, 3n],
    ['(time_unix_nano - 1000000) / 1000000', { timeUnixNano: 5_000_000n }, 4n],
    ['9223372036854775807 + 1', {}, -9223372036854775808n],
    ['[1 + 1, 2 * 2]', {}, [2n, 4n]],
  ] as [string, LogSpec, Value][])('%s', (expr, spec, expected) => {
    expect(out(expr, spec)).toEqual(expected);
  });

  it('in conditions, on either side, grouped or not', () => {
    expect(hit('attributes["n"] * 2 > 9', { attributes: { n: 5n } })).toBe(true);
    expect(hit('attributes["n"] * 2 > 10', { attributes: { n: 5n } })).toBe(false);
    expect(hit('(attributes["n"] + 1) * 2 == 12', { attributes: { n: 5n } })).toBe(true);
    expect(hit('100 < (attributes["n"] + 1) * 20', { attributes: { n: 5n } })).toBe(true);
    expect(hit('(attributes["n"] == 5)', { attributes: { n: 5n } })).toBe(true);
    expect(hit('(attributes["n"] + 1 > 5) and (attributes["s"] == "x" or attributes["n"] - 5 == 0)', { attributes: { n: 5n } })).toBe(true);
    expect(hit('not (attributes["n"] - 5 == 0)', { attributes: { n: 5n } })).toBe(false);
  });

  it.each([
    ['attributes["n"] + 1.5', /cannot compute int \+ double: math takes two ints or two doubles/],
    ['attributes["n"] / 0', /division by zero/],
    ['attributes["s"] + 1', /cannot compute string \+ int/],
    ['time + time', /cannot compute time \+ time: a time takes \+ or - a duration/],
  ])('%s fails at run time (error_mode decides)', (expr, err) => {
    expect(() => out(expr, { attributes: { n: 1n, s: 'a' } })).toThrow(err);
    expect(fromKeyValues(firstLog(runOnLog([`set(attributes["out"], ${expr})`], { attributes: { n: 1n } }, 'ignore')).attributes)).toEqual(vmap({ n: 1n }));
  });
});
