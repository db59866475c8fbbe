/**
 * Runs compiled OTTL over a decoded Export request: statement groups in their contexts (transform),
 * conditions that drop items (filter). One EvalContext is reused for every item, so a run allocates
 * nothing per record beyond what the statements themselves make.
 */
import type { RequestMessage } from '../pdata/codec.js';
import type { CompiledCondition, CompiledStatement, OttlSignal } from './compile.js';
import { newEvalContext, type ContextName, type EvalContext } from './paths.js';
import { messageOf } from '../core/errors.js';

export type ErrorMode = 'ignore' | 'silent' | 'propagate';

/** Statements of one context, run in order on every item of it; `conditions` (any of) gate the group. */
export interface StatementGroup {
  context: ContextName;
  conditions: readonly CompiledCondition[];
  statements: readonly CompiledStatement[];
}

/** A statement or condition that failed on an item, under error_mode propagate. */
export class OttlEvalError extends Error {}

export interface RunOptions {
  errorMode: ErrorMode;
  /** Called for each failure under `ignore` (the processor logs it). */
  onIgnoredError?: (text: string, err: unknown) => void;
  meta?: Readonly<Record<string, string>>;
}

const RESOURCES = { logs: 'resourceLogs', traces: 'resourceSpans', metrics: 'resourceMetrics' } as const;
const SCOPES = { logs: 'scopeLogs', traces: 'scopeSpans', metrics: 'scopeMetrics' } as const;
const RECORDS = { logs: 'logRecords', traces: 'spans', metrics: 'metrics' } as const;

/** The data points of a metric, whatever its type (none for a metric without data). */
export function dataPointsOf(metric: any): any[] | undefined {
  return metric.data?.value?.dataPoints;
}

/** Calls `fn` with ctx set on every item of `context` in the request. */
export function forEachItem(signal: OttlSignal, msg: RequestMessage, context: ContextName, ctx: EvalContext, fn: () => void): void {
  for (const rx of (msg as any)[RESOURCES[signal]] as any[]) {
    ctx.resource = rx;
    if (context === 'resource') {
      ctx.cache = undefined;
      fn();
      continue;
    }
    for (const sx of rx[SCOPES[signal]] as any[]) {
      ctx.scope = sx;
      if (context === 'scope') {
        ctx.cache = undefined;
        fn();
        continue;
      }
      for (const rec of sx[RECORDS[signal]] as any[]) {
        if (signal === 'logs') {
          ctx.log = rec;
          ctx.cache = undefined;
          fn();
        } else if (signal === 'traces') {
          ctx.span = rec;
          if (context === 'span') {
            ctx.cache = undefined;
            fn();
          } else {
            for (const ev of rec.events) {
              ctx.spanevent = ev;
              ctx.cache = undefined;
              fn();
            }
          }
        } else {
          ctx.metric = rec;
          if (context === 'metric') {
            ctx.cache = undefined;
            fn();
          } else {
            for (const dp of dataPointsOf(rec) ?? []) {
              ctx.datapoint = dp;
              ctx.cache = undefined;
              fn();
            }
          }
        }
      }
    }
  }
}

function fail(opts: RunOptions, text: string, err: unknown): void {
  if (opts.errorMode === 'propagate') throw new OttlEvalError(`failed to execute "${text}": ${messageOf(err)}`, { cause: err });
  if (opts.errorMode === 'ignore') opts.onIgnoredError?.(text, err);
}

/** Runs the groups in order over the request; returns whether any statement ran (the request changed). */
export function runStatements(signal: OttlSignal, msg: RequestMessage, groups: readonly StatementGroup[], opts: RunOptions): boolean {
  const ctx = newEvalContext();
  ctx.meta = opts.meta;
  let changed = false;
  for (const g of groups) {
    const { conditions, statements } = g;
    forEachItem(signal, msg, g.context, ctx, () => {
      if (conditions.length > 0) {
        let any = false;
        for (const c of conditions) {
          try {
            if (c.eval(ctx)) {
              any = true;
              break;
            }
          } catch (err) {
            fail(opts, c.text, err);
          }
        }
        if (!any) return;
      }
      for (let i = 0; i < statements.length; i++) {
        const s = statements[i]!;
        try {
          if (s.run(ctx)) changed = true;
        } catch (err) {
          fail(opts, s.text, err);
        }
      }
    });
  }
  return changed;
}

/** Whether any condition holds for the item in ctx (a failing condition counts as false unless propagated). */
export function anyHolds(conditions: readonly CompiledCondition[], ctx: EvalContext, opts: RunOptions): boolean {
  for (const c of conditions) {
    try {
      if (c.eval(ctx)) return true;
    } catch (err) {
      fail(opts, c.text, err);
    }
  }
  return false;
}

/** Items dropped by filterItems, per kind, for the processor's counters. */
export interface FilterOutcome {
  /** Records dropped (log records, spans, data points; spanevents and whole metrics counted apart). */
  dropped: number;
  changed: boolean;
}

export interface FilterRules {
  /** Per context: drop the item when any condition holds. */
  resource?: readonly CompiledCondition[];
  scope?: readonly CompiledCondition[];
  span?: readonly CompiledCondition[];
  spanevent?: readonly CompiledCondition[];
  metric?: readonly CompiledCondition[];
  datapoint?: readonly CompiledCondition[];
  log?: readonly CompiledCondition[];
}

/** The records (log records, spans, data points) under one scope, as filterItems counts them. */
function recordsInScope(signal: OttlSignal, sx: any): number {
  let n = 0;
  for (const rec of sx[RECORDS[signal]] as any[]) n += signal === 'metrics' ? (dataPointsOf(rec)?.length ?? 0) : 1;
  return n;
}

/** The records under one resource. */
function recordsIn(signal: OttlSignal, rx: any): number {
  let n = 0;
  for (const sx of rx[SCOPES[signal]] as any[]) n += recordsInScope(signal, sx);
  return n;
}

/**
 * Drops the items a condition matches, then the containers left empty (scopes without records,
 * resources without scopes, metrics without data points), as the collector's filter processor does.
 */
export function filterItems(signal: OttlSignal, msg: RequestMessage, rules: FilterRules, opts: RunOptions): FilterOutcome {
  const ctx = newEvalContext();
  ctx.meta = opts.meta;
  let dropped = 0;
  let changed = false;
  const resources = (msg as any)[RESOURCES[signal]] as any[];
  const keptResources = resources.filter((rx) => {
    ctx.resource = rx;
    ctx.cache = undefined;
    if (rules.resource && anyHolds(rules.resource, ctx, opts)) {
      dropped += recordsIn(signal, rx);
      return false;
    }
    const scopes = rx[SCOPES[signal]] as any[];
    rx[SCOPES[signal]] = scopes.filter((sx) => {
      ctx.scope = sx;
      if (rules.scope) {
        ctx.cache = undefined;
        if (anyHolds(rules.scope, ctx, opts)) {
          dropped += recordsInScope(signal, sx);
          return false;
        }
      }
      const records = sx[RECORDS[signal]] as any[];
      sx[RECORDS[signal]] = records.filter((rec) => {
        if (signal === 'logs') {
          ctx.log = rec;
          ctx.cache = undefined;
          if (rules.log && anyHolds(rules.log, ctx, opts)) return (dropped++, false);
          return true;
        }
        if (signal === 'traces') {
          ctx.span = rec;
          ctx.cache = undefined;
          if (rules.span && anyHolds(rules.span, ctx, opts)) return (dropped++, false);
          if (rules.spanevent && rec.events.length > 0) {
            const before = rec.events.length;
            rec.events = rec.events.filter((ev: any) => {
              ctx.spanevent = ev;
              ctx.cache = undefined;
              return !anyHolds(rules.spanevent!, ctx, opts);
            });
            if (rec.events.length !== before) changed = true;
          }
          return true;
        }
        ctx.metric = rec;
        ctx.cache = undefined;
        const points = dataPointsOf(rec);
        if (rules.metric && anyHolds(rules.metric, ctx, opts)) return ((dropped += points?.length ?? 0), false);
        if (rules.datapoint && points && points.length > 0) {
          const kept = points.filter((dp) => {
            ctx.datapoint = dp;
            ctx.cache = undefined;
            return !anyHolds(rules.datapoint!, ctx, opts);
          });
          if (kept.length !== points.length) {
            dropped += points.length - kept.length;
            rec.data.value.dataPoints = kept;
            if (kept.length === 0) return false;
          }
        }
        return true;
      });
      return sx[RECORDS[signal]].length > 0;
    });
    return rx[SCOPES[signal]].length > 0;
  });
  if (dropped > 0 || keptResources.length !== resources.length) changed = true;
  (msg as any)[RESOURCES[signal]] = keptResources;
  return { dropped, changed };
}
