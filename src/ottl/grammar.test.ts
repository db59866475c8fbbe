import { describe, expect, it } from 'vitest';
import { parseCondition, parseStatement } from './grammar.js';
import { compileCondition, compileStatement, OttlError, parseStatementText } from './compile.js';

const errorOf = (fn: () => unknown): { column: number; message: string } => {
  try {
    fn();
  } catch (err) {
    if (err instanceof OttlError) return { column: err.column, message: err.detail };
    throw err;
  }
  throw new Error('no error');
};

describe('OTTL grammar', () => {
  it('parses statements with literals of every kind, named arguments, keys and where clauses', () => {
    const ast = parseStatement(
      'set(attributes["a"][0], {"k": [1, -2.5, 0xff, nil, true, "s\\"q"]}) where not (x == 1 or IsMatch(body, "a")) and y != SPAN_KIND_SERVER',
    );
    expect(ast.editor.name).toBe('set');
    expect(ast.editor.args[0]!.value).toMatchObject({
      k: 'path',
      names: ['attributes'],
      keys: [
        { k: 'string', v: 'a' },
        { k: 'int', v: 0 },
      ],
    });
    const map = ast.editor.args[1]!.value as { k: 'map'; entries: [string, { k: string; items: { k: string; v?: unknown }[] }][] };
    expect(map.entries[0]![1].items.map((i) => i.k)).toEqual(['int', 'float', 'bytes', 'nil', 'bool', 'string']);
    expect(map.entries[0]![1].items[5]!.v).toBe('s"q');
    expect(ast.where).toMatchObject({ k: 'and', l: { k: 'not', e: { k: 'or' } }, r: { k: 'cmp', op: '!=' } });
    expect(parseStatement('flatten(body, depth=2)').editor.args[1]).toMatchObject({ name: 'depth', value: { k: 'int', v: 2n } });
  });

  it('and binds tighter than or', () => {
    expect(parseCondition('a == 1 or b == 2 and c == 3')).toMatchObject({ k: 'or', r: { k: 'and' } });
  });

  it.each([
    ['set(attributes["env"] "prod")', 23, 'expected "," or ")", found ""prod""'],
    ['set(attributes["env"], )', 24, 'expected a value (a string, number, bytes, nil, true/false, path, converter call, list or map), found ")"'],
    ['set(x, 1) where', 16, 'expected a condition (a comparison, true/false, a converter call, "not" or "("), found the end of the statement'],
    ['set(x, 1) wher y', 11, 'expected the end of the statement, found "wher"'],
    ['set(x, 1) where a == 1 ==', 24, 'expected the end of the statement, found "=="'],
    ['set(attributes[x], 1)', 16, 'a path or converter as a key (x...) is not supported yet by GopherShip; use a string or an integer key'],
    ['set(attributes[), 1)', 16, 'expected a map key (a string or an integer), found ")"'],
    ['set(x, "unterminated)', 8, 'unexpected character """'],
    ['Set(x, 1)', 1, 'expected a name, found "Set"'],
    ['set(x, [1, 2)', 13, 'expected "," or "]", found ")"'],
    ['set(x, {"a" 1})', 13, 'expected ":", found "1"'],
  ])('%s: column %i', (text, column, message) => {
    expect(errorOf(() => parseStatementText(text))).toEqual({ column, message });
  });

  it.each([
    [
      'set(attributes["x"], attributes[attributes["k"]])',
      33,
      'a path or converter as a key (attributes...) is not supported yet by GopherShip; use a string or an integer key',
    ],
    // The sign lexes into the number, as in the collector's lexer: `x -1` is two values.
    ['set(attributes["x"], attributes["n"] -1)', 38, 'expected "," or ")", found "-1" (for math, put spaces around the operator: "x - 1")'],
    ['set(attributes["x"], 1 +)', 25, 'expected a value (a string, number, bytes, nil, true/false, path, converter call, list or map), found ")"'],
  ])('what the collector accepts and GopherShip does not yet: %s', (text, column, message) => {
    expect(errorOf(() => parseStatementText(text))).toEqual({ column, message });
  });

  it.each([
    ['stringify_all(attributes)', 1, 'editor stringify_all is not supported yet by GopherShip'],
    ['set_semconv_span_name("1.43.0")', 1, 'editor set_semconv_span_name is not supported yet by GopherShip'],
    ['set(attributes["t"], GetXML(attributes["p"], "/a"))', 22, 'converter GetXML is not supported yet by GopherShip'],
    ['set(attributes["x"], 1) where RemoveXML(attributes["xml"], "/a") != nil', 31, 'converter RemoveXML is not supported yet by GopherShip'],
    ['set(attributes["n"], Len(span.links))', 26, 'span.links: not supported yet by GopherShip'],
    ['set(attributes["s"], span.status)', 22, 'span.status: not supported yet by GopherShip'],
    ['set(attributes["n"], Len(span.events))', 26, 'span.events: not supported yet by GopherShip'],
  ])('a collector function or path not implemented yet is named: %s', (text, column, message) => {
    expect(errorOf(() => compileStatement(text, 'span', 'traces'))).toEqual({ column, message });
  });

  it('a field below a path not implemented yet is named too; the implemented ones below it still work', () => {
    expect(() => compileStatement('set(status.code, STATUS_CODE_ERROR) where status.message == ""', 'span', 'traces')).not.toThrow();
    expect(() => compileStatement('set(attributes["o"], positive.offset)', 'datapoint', 'metrics')).not.toThrow();
    expect(errorOf(() => compileStatement('set(attributes["o"], positive)', 'datapoint', 'metrics'))).toEqual({
      column: 22,
      message: 'positive: not supported yet by GopherShip',
    });
  });

  it('compile errors carry the column of the part at fault', () => {
    expect(errorOf(() => compileStatement('set(attributes["a"], Nope(1))', 'log', 'logs')).column).toBe(22);
    expect(errorOf(() => compileStatement('set(attributes["a"], 1) where span.name == "x"', 'log', 'logs'))).toEqual({
      column: 31,
      message: 'span.name: there is no span context in logs; contexts here: resource, scope, log',
    });
    expect(errorOf(() => compileStatement('set(name, "x")', 'resource', 'traces')).message).toBe(
      'name: resource has no field "name"; it has attributes, dropped_attributes_count, schema_url',
    );
    expect(errorOf(() => compileStatement('set(span.name, "x")', 'resource', 'traces')).message).toMatch(
      /a resource statement cannot read the span context below it/,
    );
    expect(errorOf(() => compileCondition('"just a string"', 'log', 'logs')).message).toBe('a condition needs a comparison or a boolean value');
    expect(errorOf(() => compileStatement('IsMatch(body, "x")', 'log', 'logs'))).toEqual({ column: 1, message: 'expected a name, found "IsMatch"' });
  });
});
