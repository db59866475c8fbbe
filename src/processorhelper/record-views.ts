/**
 * What a RequestWalker (request-walker.ts) shows its visitor: reused views of the resource, scope, metric
 * and record being visited, and what a hook returns (keep, drop, skip or replace).
 */
import type { Signal } from '../core/signal.js';
import type { RecordKind } from './otlp-fields.js';

export const KEEP = 0;
export const DROP = 1;
/** Keep the container as is and do not visit what it holds. */
export const SKIP = 2;
/** Returned by a record hook that replaced its record with RequestWalker.replaceRecord. */
export const REPLACED = 3;
export type VisitResult = typeof KEEP | typeof DROP | typeof SKIP | typeof REPLACED | Uint8Array;

/** A Resource or an InstrumentationScope in a request, and the ResourceX or ScopeX that holds it. */
interface ContainerView {
  /** The whole request. */
  buf: Buffer;
  signal: Signal;
  /** Index of the ResourceX in the request, or of the ScopeX in its ResourceX. */
  index: number;
  /** Whether the Resource or scope field is on the wire (else start === end, an empty message). */
  present: boolean;
  /** Content range of the Resource or InstrumentationScope message. */
  start: number;
  end: number;
  /** Content range of the enclosing ResourceLogs/ResourceSpans/ResourceMetrics or ScopeLogs/ScopeSpans/ScopeMetrics. */
  parentStart: number;
  parentEnd: number;
}

export type ResourceView = ContainerView;

export interface ScopeView extends ContainerView {
  resource: ResourceView;
}

export interface MetricView {
  buf: Buffer;
  index: number;
  /** Content range of the Metric message. */
  start: number;
  end: number;
  scope: ScopeView;
  resource: ResourceView;
}

export interface RecordView {
  buf: Buffer;
  signal: Signal;
  kind: RecordKind;
  /** Field number of this record's attributes (6 log, 9 span, 7/9/1/7 data points). */
  attrField: number;
  /** Index of the record within its scope (data points: within their metric). */
  index: number;
  /** Content range of the record message. */
  start: number;
  end: number;
  scope: ScopeView;
  resource: ResourceView;
  /** The enclosing metric (metrics only; else undefined). */
  metric: MetricView | undefined;
}

export interface RequestVisitor {
  resource?(r: ResourceView): VisitResult;
  scope?(s: ScopeView): VisitResult;
  metric?(m: MetricView): VisitResult;
  record?(r: RecordView): VisitResult;
}

export interface WalkOptions {
  /** Remove metrics without data points, scopes without records, resources without scopes (filter semantics). */
  pruneEmpty?: boolean;
}

export interface WalkResult {
  /** The edited request, or the input array itself when nothing changed. */
  bytes: Uint8Array;
  changed: boolean;
  /** Records kept (log records, spans, data points), or -1 when the walk did not descend to records. */
  items: number;
}
