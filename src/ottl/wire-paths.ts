/**
 * Read-only OTTL paths on encoded requests, for conditions that read only what the wire walk reaches
 * cheaply: a record's and its resource's attributes by key, a log's body, severity number and text, a
 * span's name and kind. Conditions built from them (the filter processor's, on log records, spans and
 * data points) run inside a RequestWalker visit without decoding the request: bench/processors.mjs
 * measures the difference. A path outside this set makes the caller fall back to the decoded path.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { AnyValueSchema } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import {
  AttrList,
  FIELD,
  findLenField,
  findVarintField,
  KEEP,
  DROP,
  RequestWalker,
  utf8,
  ValueType,
  type Range,
  type RecordView,
  type ResourceView,
  type WalkResult,
} from '../processorhelper/wire-edit.js';
import { compileCondition, type CompiledCondition, type OttlSignal } from './compile.js';
import type { KeyExpr } from './grammar.js';
import { contextOfName, newEvalContext, type ContextName, type EvalContext, type PathRef } from './paths.js';
import { anyHolds, type RunOptions } from './run.js';
import { fromAnyValue, type Value } from './values.js';

/** The item a wire condition reads: the record being visited and its resource, attributes loaded on demand. */
export interface WireItem {
  rec: RecordView | undefined;
  recAttrs: AttrList;
  recLoaded: boolean;
  res: ResourceView | undefined;
  resAttrs: AttrList;
  resLoaded: boolean;
}

type WireCtx = EvalContext & { wire: WireItem };

class WireUnsupported extends Error {}

const RECORD_CONTEXT: Record<OttlSignal, ContextName> = { logs: 'log', traces: 'span', metrics: 'datapoint' };

function attrValue(attrs: AttrList, i: number): Value {
  switch (attrs.type(i)) {
    case ValueType.Empty:
      return null;
    case ValueType.String:
      return attrs.str(i);
    case ValueType.Int:
      return attrs.int(i);
    case ValueType.Double:
      return attrs.double(i);
    case ValueType.Bool:
      return attrs.bool(i);
    case ValueType.Bytes:
      return Uint8Array.from(attrs.rawBytes(i));
    default:
      return fromAnyValue(fromBinary(AnyValueSchema, attrs.value(i)));
  }
}

function recordAttrs(item: WireItem): AttrList {
  if (!item.recLoaded) {
    const r = item.rec!;
    item.recAttrs.load(r.buf, r.start, r.end, r.attrField);
    item.recLoaded = true;
  }
  return item.recAttrs;
}

function resourceAttrs(item: WireItem): AttrList {
  if (!item.resLoaded) {
    const r = item.res!;
    item.resAttrs.load(r.buf, r.start, r.end, FIELD.resourceAttributes);
    item.resLoaded = true;
  }
  return item.resAttrs;
}

const range: Range = { start: 0, end: 0 };

/** A PathCompiler (src/ottl/compile.ts) for wire items; throws WireUnsupported for any other path. */
export function compileWirePath(names: readonly string[], keys: readonly KeyExpr[], context: ContextName, signal: OttlSignal): PathRef {
  const explicit = contextOfName(names[0]!);
  const ctxName = explicit ?? context;
  const field = (explicit ? names.slice(1) : names).join('.');
  const text = names.join('.');
  const ro = (get: (item: WireItem) => Value): PathRef => ({ text, context: ctxName, get: (ctx) => get((ctx as WireCtx).wire), set: undefined });
  if (field === 'attributes' && keys.length === 1 && keys[0]!.k === 'string') {
    const key = utf8(keys[0]!.v);
    if (ctxName === 'resource') {
      return ro((item) => {
        const a = resourceAttrs(item);
        const i = a.indexOf(key);
        return i < 0 ? null : attrValue(a, i);
      });
    }
    if (ctxName === RECORD_CONTEXT[signal]) {
      return ro((item) => {
        const a = recordAttrs(item);
        const i = a.indexOf(key);
        return i < 0 ? null : attrValue(a, i);
      });
    }
  }
  if (keys.length === 0 && ctxName === 'log' && signal === 'logs') {
    if (field === 'severity_number') return ro((item) => BigInt(findVarintField(item.rec!.buf, item.rec!.start, item.rec!.end, FIELD.logSeverityNumber, 0)));
    if (field === 'severity_text')
      return ro((item) =>
        findLenField(item.rec!.buf, item.rec!.start, item.rec!.end, FIELD.logSeverityText, range) ? item.rec!.buf.toString('utf8', range.start, range.end) : '',
      );
    if (field === 'body') {
      return ro((item) => {
        const r = item.rec!;
        if (!findLenField(r.buf, r.start, r.end, FIELD.logBody, range)) return null;
        return fromAnyValue(fromBinary(AnyValueSchema, r.buf.subarray(range.start, range.end)));
      });
    }
  }
  if (keys.length === 0 && ctxName === 'span' && signal === 'traces') {
    if (field === 'name')
      return ro((item) =>
        findLenField(item.rec!.buf, item.rec!.start, item.rec!.end, FIELD.spanName, range) ? item.rec!.buf.toString('utf8', range.start, range.end) : '',
      );
    if (field === 'kind') return ro((item) => BigInt(findVarintField(item.rec!.buf, item.rec!.start, item.rec!.end, FIELD.spanKind, 0)));
  }
  throw new WireUnsupported(`${text} is not read on the wire`);
}

/** Drops the records (log records, spans or data points) a condition matches, on the wire; prunes empty containers. */
export interface WireRecordFilter {
  edit(bytes: Uint8Array, opts: RunOptions): WalkResult;
}

/**
 * The wire filter for conditions in the signal's record context, or undefined when some condition reads
 * a path the wire does not offer (the caller then filters decoded requests).
 */
export function compileWireRecordFilter(signal: OttlSignal, texts: readonly string[]): WireRecordFilter | undefined {
  let conditions: CompiledCondition[];
  try {
    conditions = texts.map((t) => compileCondition(t, RECORD_CONTEXT[signal], signal, undefined, compileWirePath));
  } catch {
    return undefined;
  }
  const item: WireItem = { rec: undefined, recAttrs: new AttrList(), recLoaded: false, res: undefined, resAttrs: new AttrList(), resLoaded: false };
  const ctx = Object.assign(newEvalContext(), { wire: item });
  let opts: RunOptions = { errorMode: 'propagate' };
  const walker = new RequestWalker(
    {
      resource: (r) => {
        item.res = r;
        item.resLoaded = false;
        return KEEP;
      },
      record: (rec) => {
        item.rec = rec;
        item.recLoaded = false;
        return anyHolds(conditions, ctx, opts) ? DROP : KEEP;
      },
    },
    { pruneEmpty: true },
  );
  return {
    edit: (bytes, o) => {
      opts = o;
      ctx.meta = o.meta;
      return walker.walk(signal, bytes);
    },
  };
}
