import { describe, expect, it } from 'vitest';
import { inferGroupContext, parseConditionText, parseStatementText, type OttlSignal } from './compile.js';

/** The context inferred for a group of statements (and conditions), as the collector's context inferrer. */
const infer = (signal: OttlSignal, statements: string[], conditions: string[] = []) =>
  inferGroupContext([...statements.map(parseStatementText), ...conditions.map(parseConditionText)], signal);

describe('context inference for a group written without a context', () => {
  it('the innermost context any path of the group names, the statements and the conditions together', () => {
    expect(infer('traces', ['set(resource.attributes["a"], "x")', 'set(span.name, "y")'])).toMatchObject({ context: 'span', by: 'span.name' });
    expect(infer('traces', ['set(resource.attributes["a"], "x")'], ['span.name == "y"']).context).toBe('span');
    expect(infer('traces', ['set(span.name, "y") where spanevent.name == "e"']).context).toBe('spanevent');
    expect(infer('traces', ['set(resource.attributes["a"], "x")', 'set(scope.name, "s")']).context).toBe('scope');
    expect(infer('traces', ['set(instrumentation_scope.name, "s")']).context).toBe('scope');
  });

  it('metric and datapoint, log and scope', () => {
    expect(infer('metrics', ['set(metric.description, "d")', 'set(resource.attributes["a"], "x")']).context).toBe('metric');
    expect(infer('metrics', ['set(metric.description, "d")', 'set(datapoint.attributes["a"], "x")']).context).toBe('datapoint');
    expect(infer('logs', ['set(scope.attributes["a"], "x")', 'set(resource.attributes["b"], "y")']).context).toBe('scope');
    expect(infer('logs', ['set(scope.attributes["a"], "x")'], ['log.body != nil']).context).toBe('log');
  });

  it('a path without a context is the record context (GopherShip accepts it; the collector refuses it in an inferred group)', () => {
    expect(infer('traces', ['set(attributes["x"], resource.attributes["y"])'])).toMatchObject({ context: 'span', bare: 'attributes' });
    expect(infer('metrics', ['set(attributes["x"], "1")', 'set(metric.description, "d")']).context).toBe('datapoint');
    expect(infer('logs', ['delete_key(attributes, "x") where resource.attributes["k"] == "v"']).context).toBe('log');
    // Nothing named: the record context.
    expect(infer('logs', ['set(cache["x"], "1")'])).toMatchObject({ context: 'log', by: undefined, bare: undefined });
    // cache and request are not contexts.
    expect(infer('logs', ['set(resource.attributes["t"], request["x-tenant"])', 'set(cache["k"], "v")']).context).toBe('resource');
    // Inside the record context (spanevent) a path without a context is ambiguous: flagged for the config check.
    expect(infer('traces', ['set(attributes["x"], "1")', 'set(spanevent.name, "e")']).ambiguous).toBe('attributes');
    expect(infer('traces', ['set(attributes["x"], "1")', 'set(span.name, "e")']).ambiguous).toBeUndefined();
  });

  it('an enum or converter the named context does not know moves the group to the innermost context that knows them all', () => {
    // As the collector: the lower contexts are tried in its priority order, spanevent before span.
    expect(infer('traces', ['set(resource.attributes["x"], "y") where resource.attributes["k"] == STATUS_CODE_ERROR'])).toMatchObject({
      context: 'spanevent',
      by: 'the enum STATUS_CODE_ERROR',
    });
    expect(infer('metrics', ['set(resource.attributes["x"], "y") where resource.attributes["t"] == METRIC_DATA_TYPE_SUM']).context).toBe('datapoint');
    expect(infer('metrics', ['set(metric.description, "d") where metric.type == METRIC_DATA_TYPE_SUM']).context).toBe('metric');
    expect(infer('metrics', ['set(metric.description, "d") where resource.attributes["f"] == FLAG_NONE']).context).toBe('datapoint');
    expect(infer('logs', ['set(resource.attributes["lvl"], SEVERITY_NUMBER_WARN)']).context).toBe('log');
    // No context of the signal knows it: the named context stays (an explicit group takes any enum too).
    expect(infer('traces', ['set(resource.attributes["lvl"], SEVERITY_NUMBER_WARN)']).context).toBe('resource');
    // Converters only some contexts offer, likewise.
    expect(infer('traces', [], ['IsRootSpan() and resource.attributes["k"] == "v"'])).toMatchObject({ context: 'span', by: 'the function IsRootSpan' });
    expect(infer('metrics', [], ['HasAttrKeyOnDatapoint("k") and resource.attributes["k"] == "v"']).context).toBe('metric');
    // A function name given as an argument is not an enum.
    expect(infer('logs', ['replace_pattern(resource.attributes["k"], "a", "b", SHA256)']).context).toBe('resource');
  });
});
