/**
 * OTTL in component configs: schemas that check statements and conditions at config load (each problem
 * with its key path, so the loader adds file:line, and the column in the statement), and the compilation
 * of a checked config into statement groups. Configs keep the statement texts (plain data); components
 * compile them again at create, which is cheap.
 */
import { Schema, collectorStringList, type ConfigIssue, type SchemaDoc } from '../core/schema.js';
import {
  compileCondition,
  compileStatement,
  inferContext,
  inferGroupContext,
  OttlError,
  parseConditionText,
  parseStatementText,
  type CompiledCondition,
  RECORD_CONTEXT,
  type OttlSignal,
} from './compile.js';
import { CONTEXT_CHAIN, contextOfName, type ContextName } from './paths.js';
import type { ErrorMode, StatementGroup } from './run.js';

export const ERROR_MODES: readonly ErrorMode[] = ['ignore', 'silent', 'propagate'];

/**
 * One group as configured. The plain statement strings of a list are one group (the collector's basic
 * style): no context (it is inferred for them all together), no conditions.
 */
export interface StatementGroupConfig {
  context: string | undefined;
  conditions: string[];
  statements: string[];
  error_mode: ErrorMode | undefined;
  /** Set for the group of a list's plain statement strings. */
  flat?: true;
}

function message(text: string, err: unknown): string {
  if (err instanceof OttlError) return `in "${text}", column ${err.column}: ${err.detail}`;
  return `in "${text}": ${(err as Error).message}`;
}

/** Parses what parses (a text that does not is reported where it is compiled). */
function parsedHints(statements: readonly string[], conditions: readonly string[]): unknown[] {
  const out: unknown[] = [];
  for (const t of statements) {
    try {
      out.push(parseStatementText(t));
    } catch {
      // reported by compileStatement
    }
  }
  for (const t of conditions) {
    try {
      out.push(parseConditionText(t));
    } catch {
      // reported by compileCondition
    }
  }
  return out;
}

/** A statement group compiled; throws OttlError (for tests and components; configs were checked already). */
export function compileGroup(g: StatementGroupConfig, signal: OttlSignal): StatementGroup & { errorMode: ErrorMode | undefined } {
  const context = g.context !== undefined ? contextOfName(g.context)! : inferGroupContext(parsedHints(g.statements, g.conditions), signal).context;
  return {
    context,
    conditions: g.conditions.map((c) => compileCondition(c, context, signal)),
    statements: g.statements.map((s) => compileStatement(s, context, signal)),
    errorMode: g.error_mode,
  };
}

/** How a group's messages name it, and what to do when its texts cannot share one context. */
interface GroupWording {
  /** "the list's plain statements run", "this group's conditions are read" */
  who: string;
  /** what to do to run a text in another context */
  fix: string;
}

/**
 * Compiles a group's statements and conditions in its context (given, or inferred for them all together,
 * as the collector's), one issue per text that fails. An issue for a text that would compile in the
 * context it infers alone says that the group shares one context, which, and how to split it.
 */
function checkGroupTexts(
  g: { context: string | undefined; statements: readonly string[]; conditions: readonly string[] },
  signal: OttlSignal,
  issues: ConfigIssue[],
  at: { statement: (j: number) => string[]; condition: (j: number) => string[] },
  wording: GroupWording,
): void {
  const before = issues.length;
  const inferred = g.context === undefined ? inferGroupContext(parsedHints(g.statements, g.conditions), signal) : undefined;
  const context = inferred?.context ?? contextOfName(g.context!)!;
  const alone = (text: string, isCondition: boolean) => inferGroupContext(isCondition ? parsedHints([], [text]) : parsedHints([text], []), signal);
  const compile = (text: string, isCondition: boolean, c: ContextName) => (isCondition ? compileCondition(text, c, signal) : compileStatement(text, c, signal));
  const check = (text: string, isCondition: boolean, path: string[]) => {
    try {
      compile(text, isCondition, context);
    } catch (err) {
      let hint = '';
      const own = inferred && err instanceof OttlError ? alone(text, isCondition).context : context;
      if (own !== context) {
        try {
          compile(text, isCondition, own);
          hint = ` (${wording.who} together in one context, ${context}, inferred from ${inferred!.by}, as the collector infers it; name the context of each path, or ${wording.fix})`;
        } catch {
          // it fails on its own too: the message says why
        }
      }
      issues.push({ path, message: message(text, err) + hint });
    }
  };
  g.statements.forEach((t, j) => check(t, false, at.statement(j)));
  g.conditions.forEach((t, j) => check(t, true, at.condition(j)));
  if (inferred?.ambiguous === undefined || issues.length > before) return;
  // A path without a context in a group inside the record context (spanevent): name the text holding it.
  const j = g.statements.findIndex((t) => alone(t, false).bare !== undefined);
  const k =
    j >= 0
      ? -1
      : Math.max(
          0,
          g.conditions.findIndex((t) => alone(t, true).bare !== undefined),
        );
  const record = RECORD_CONTEXT[signal];
  const bare = inferred.ambiguous;
  issues.push({
    path: j >= 0 ? at.statement(j) : at.condition(k),
    message:
      `in "${j >= 0 ? g.statements[j] : g.conditions[k]}": the path ${bare} has no context, and ${wording.who} in the ${context} context ` +
      `(inferred from ${inferred.by}), where it would be the ${context}'s, not the ${record}'s as on its own; write ${record}.${bare} or ` +
      `${context}.${bare} (the collector refuses paths without a context in an inferred group)`,
  });
}

/**
 * The fields every group map shares (transform's and filter's): a map with only `keys`, a `context` of
 * the signal, an `error_mode`. Undefined (with issues) when the item is not a map.
 */
function groupFields(
  item: unknown,
  at: string[],
  issues: ConfigIssue[],
  signal: OttlSignal,
  keys: readonly string[],
  what: string,
): { o: Record<string, unknown>; ok: boolean; context: ContextName | undefined; errorMode: ErrorMode | undefined } | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    issues.push({ path: at, message: `expected an OTTL ${what} string or a map with context and ${what}s` });
    return undefined;
  }
  const o = item as Record<string, unknown>;
  let ok = true;
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      issues.push({ path: [...at, k], message: `unknown key; valid keys here: ${keys.join(', ')}` });
      ok = false;
    }
  }
  const chain = CONTEXT_CHAIN[signal];
  let context: ContextName | undefined;
  if (o.context !== undefined && o.context !== null) {
    const c = typeof o.context === 'string' ? contextOfName(o.context.toLowerCase()) : undefined;
    if (!c || !chain.includes(c)) {
      issues.push({ path: [...at, 'context'], message: `must be one of ${chain.join(', ')} for ${signal}; got ${JSON.stringify(o.context)}` });
      ok = false;
    } else context = c;
  }
  let errorMode: ErrorMode | undefined;
  if (o.error_mode !== undefined && o.error_mode !== null) {
    if (!ERROR_MODES.includes(o.error_mode as ErrorMode)) {
      issues.push({ path: [...at, 'error_mode'], message: `must be one of ${ERROR_MODES.join(', ')}; got ${JSON.stringify(o.error_mode)}` });
      ok = false;
    } else errorMode = o.error_mode as ErrorMode;
  }
  return { o, ok, context, errorMode };
}

/**
 * The transform processor's `<signal>_statements`: `{context, conditions, statements, error_mode}` groups
 * and statement strings, as the collector reads them: the strings are one group (run after the maps, in
 * the one context inferred for them all), and a map after a string is refused.
 */
export class StatementGroupsSchema extends Schema<StatementGroupConfig[]> {
  constructor(private readonly signal: OttlSignal) {
    super();
  }

  protected check(v: unknown, path: string[], issues: ConfigIssue[]): StatementGroupConfig[] {
    if (!Array.isArray(v)) {
      issues.push({ path, message: 'expected a list of OTTL statements or of {context, statements} groups' });
      return [];
    }
    const out: StatementGroupConfig[] = [];
    // The plain strings: one group, after the maps (the collector appends it last and refuses a map after a string).
    const flat: { text: string; at: string[] }[] = [];
    v.forEach((item, i) => {
      const at = [...path, String(i)];
      if (typeof item === 'string') {
        flat.push({ text: item, at });
        return;
      }
      if (flat.length > 0) {
        issues.push({
          path: at,
          message:
            `a {context, statements} group after a plain statement string (item ${flat[0]!.at[flat[0]!.at.length - 1]}): the collector refuses ` +
            `the two styles mixed this way ("configuring multiple configuration styles is not supported"); write the plain ` +
            `statements as a group of their own (- statements: [...]), or put every group before them`,
        });
        return;
      }
      const g = this.group(item, at, issues);
      if (!g) return;
      const before = issues.length;
      checkGroupTexts(
        g,
        this.signal,
        issues,
        { statement: (j) => [...at, 'statements', String(j)], condition: (j) => [...at, 'conditions', String(j)] },
        { who: "this group's statements and conditions run", fix: 'move it to a group of its own' },
      );
      if (issues.length === before) out.push(g);
    });
    if (flat.length > 0) {
      const g: StatementGroupConfig = { context: undefined, conditions: [], statements: flat.map((f) => f.text), error_mode: undefined, flat: true };
      const before = issues.length;
      checkGroupTexts(
        g,
        this.signal,
        issues,
        { statement: (j) => flat[j]!.at, condition: () => path },
        { who: "the list's plain statements run", fix: 'write the statements of each context as a group of their own (- statements: [...])' },
      );
      if (issues.length === before) out.push(g);
    }
    return out;
  }

  private group(item: unknown, at: string[], issues: ConfigIssue[]): StatementGroupConfig | undefined {
    const f = groupFields(item, at, issues, this.signal, ['context', 'conditions', 'statements', 'error_mode'], 'statement');
    if (!f) return undefined;
    const { o } = f;
    let ok = f.ok;
    const strings = (key: string): string[] => {
      const val = o[key];
      if (val === undefined || val === null) return [];
      if (!Array.isArray(val) || !val.every((x) => typeof x === 'string')) {
        issues.push({ path: [...at, key], message: `expected a list of OTTL ${key} (strings)` });
        ok = false;
        return [];
      }
      return val as string[];
    };
    const statements = strings('statements');
    const conditions = strings('conditions');
    if (statements.length === 0 && ok) {
      issues.push({ path: [...at, 'statements'], message: 'is required: at least one OTTL statement' });
      ok = false;
    }
    return ok ? { context: f.context, conditions, statements, error_mode: f.errorMode } : undefined;
  }

  doc(): SchemaDoc {
    return { ...this.baseDoc('list'), items: { type: 'string | map', description: 'an OTTL statement, or {context, conditions, statements, error_mode}' } };
  }
}

/** A list of OTTL conditions in one fixed context (filter's `traces.span`, routing's `condition`). */
export class ConditionsSchema extends Schema<string[]> {
  constructor(
    private readonly context: ContextName,
    private readonly signal: OttlSignal,
  ) {
    super();
  }

  protected check(value: unknown, path: string[], issues: ConfigIssue[]): string[] {
    // A lone string is a list, as the collector decodes it (split at commas, as there).
    const v = typeof value === 'string' ? collectorStringList(value) : value;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      issues.push({ path, message: 'expected a list of OTTL conditions (strings)' });
      return [];
    }
    v.forEach((c: string, i) => {
      try {
        compileCondition(c, this.context, this.signal);
      } catch (err) {
        issues.push({ path: [...path, String(i)], message: message(c, err) });
      }
    });
    return v as string[];
  }

  doc(): SchemaDoc {
    return { ...this.baseDoc('list'), items: { type: 'string', description: `an OTTL condition in the ${this.context} context` } };
  }
}

/** One group of the filter processor's `<signal>_conditions`: a flat list has no context (it is inferred). */
export interface ConditionGroupConfig {
  context: string | undefined;
  conditions: string[];
  error_mode: ErrorMode | undefined;
}

/** A condition group compiled in its context (given, or inferred from its conditions' paths). */
export function compileConditionGroup(
  g: ConditionGroupConfig,
  signal: OttlSignal,
): { context: ContextName; conditions: CompiledCondition[]; errorMode: ErrorMode | undefined } {
  const context = g.context !== undefined ? contextOfName(g.context)! : inferContext(g.conditions.map(parseConditionText), signal);
  return { context, conditions: compileConditions(g.conditions, context, signal), errorMode: g.error_mode };
}

/**
 * The filter processor's `trace_conditions` / `metric_conditions` / `log_conditions`: either a list of
 * condition strings (one group, context inferred from their paths) or a list of
 * `{context, conditions, error_mode}` groups, not both in one list, as the collector's.
 */
export class ConditionGroupsSchema extends Schema<ConditionGroupConfig[]> {
  constructor(private readonly signal: OttlSignal) {
    super();
  }

  protected check(v: unknown, path: string[], issues: ConfigIssue[]): ConditionGroupConfig[] {
    if (!Array.isArray(v)) {
      issues.push({ path, message: 'expected a list of OTTL conditions or of {context, conditions} groups' });
      return [];
    }
    if (v.length === 0) return [];
    const strings = v.filter((x) => typeof x === 'string').length;
    if (strings > 0 && strings < v.length) {
      issues.push({ path, message: 'use either condition strings or {context, conditions} groups in one list, not both (as the collector)' });
      return [];
    }
    const groups: { g: ConditionGroupConfig; at: string[]; flat: boolean }[] = [];
    if (strings > 0) groups.push({ g: { context: undefined, conditions: v as string[], error_mode: undefined }, at: path, flat: true });
    else
      v.forEach((item, i) => {
        const at = [...path, String(i)];
        const g = this.group(item, at, issues);
        if (g) groups.push({ g, at, flat: false });
      });
    const out: ConditionGroupConfig[] = [];
    for (const { g, at, flat } of groups) {
      const before = issues.length;
      checkGroupTexts(
        { ...g, statements: [] },
        this.signal,
        issues,
        { statement: () => at, condition: (j) => (flat ? [...at, String(j)] : [...at, 'conditions', String(j)]) },
        flat
          ? { who: "the list's conditions are read", fix: 'write them as {context, conditions} groups' }
          : { who: "this group's conditions are read", fix: 'move it to a group of its own' },
      );
      if (issues.length === before) out.push(g);
    }
    return out;
  }

  private group(item: unknown, at: string[], issues: ConfigIssue[]): ConditionGroupConfig | undefined {
    const f = groupFields(item, at, issues, this.signal, ['context', 'conditions', 'error_mode'], 'condition');
    if (!f) return undefined;
    const conditions = f.o.conditions;
    if (!Array.isArray(conditions) || conditions.length === 0 || !conditions.every((x) => typeof x === 'string')) {
      issues.push({ path: [...at, 'conditions'], message: 'is required: a list of at least one OTTL condition (strings)' });
      return undefined;
    }
    return f.ok ? { context: f.context, conditions: conditions as string[], error_mode: f.errorMode } : undefined;
  }

  doc(): SchemaDoc {
    return { ...this.baseDoc('list'), items: { type: 'string | map', description: 'an OTTL condition, or {context, conditions, error_mode}' } };
  }
}

export function compileConditions(texts: readonly string[], context: ContextName, signal: OttlSignal): CompiledCondition[] {
  return texts.map((t) => compileCondition(t, context, signal));
}
