/**
 * The wire path for transform statements that only write attributes: `set(attributes["k"], <literal>)`
 * and `delete_key(attributes, "k")` with no where clause, in the resource context or the signal's record
 * context (log, span, datapoint; there also on `resource.attributes`, once per record as the collector
 * runs it, which for these writes is once on each resource that has records). Such statements read
 * nothing, so they run on the encoded request with
 * the wire editor (src/processorhelper/wire-edit.ts): no decode, no re-encode, untouched records copied as
 * received. Measured in bench/processors.mjs (transform-set, decoded vs wire): the decoded path is bound by
 * protobuf-es decode+encode (~75k records/s per core here), the wire path by the walk.
 */
import { toBinary } from '@bufbuild/protobuf';
import { AnyValueSchema } from '../../proto/gen/opentelemetry/proto/common/v1/common_pb.js';
import {
  AttrList,
  FIELD,
  KEEP,
  RequestWalker,
  SKIP,
  utf8,
  type RecordView,
  type ResourceView,
  type VisitResult,
  type WalkResult,
} from '../processorhelper/wire-edit.js';
import { RECORD_CONTEXT, type CompiledStatement, type OttlSignal } from './compile.js';
import type { Expr, StatementAst } from './grammar.js';
import { contextOfName, type ContextName } from './paths.js';
import type { StatementGroup } from './run.js';
import { toAnyValue, type Value } from './values.js';

/** One attribute write: value undefined deletes the key. */
interface WireOp {
  key: Uint8Array;
  value: Uint8Array | undefined;
}

function literalValue(e: Expr): { ok: true; v: Value } | undefined {
  switch (e.k) {
    case 'string':
    case 'int':
    case 'float':
    case 'bool':
    case 'bytes':
      return { ok: true, v: e.v };
    default:
      return undefined;
  }
}

/** The context whose `attributes` the path is (`attributes` is the statement's own), or undefined for another path. */
function attributesOf(e: Expr, context: ContextName): ContextName | undefined {
  if (e.k !== 'path') return undefined;
  const explicit = contextOfName(e.names[0]!);
  const rest = explicit ? e.names.slice(1) : e.names;
  return rest.length === 1 && rest[0] === 'attributes' ? (explicit ?? context) : undefined;
}

/** The statement as an attribute write on `target`'s attributes, or undefined when it is not one. */
function wireOp(ast: StatementAst, context: ContextName): { target: ContextName; op: WireOp } | undefined {
  if (ast.where) return undefined;
  const { name, args } = ast.editor;
  if (args.some((a) => a.name !== undefined) || args.length !== 2) return undefined;
  const [t, v] = [args[0]!.value, args[1]!.value];
  const target = attributesOf(t, context);
  if (target === undefined || t.k !== 'path') return undefined;
  if (name === 'set' && t.keys.length === 1 && t.keys[0]!.k === 'string') {
    const lit = literalValue(v);
    if (!lit) return undefined;
    return { target, op: { key: utf8(t.keys[0]!.v), value: toBinary(AnyValueSchema, toAnyValue(lit.v)) } };
  }
  if (name === 'delete_key' && t.keys.length === 0 && v.k === 'string') return { target, op: { key: utf8(v.v), value: undefined } };
  return undefined;
}

function apply(ops: readonly WireOp[], attrs: AttrList): void {
  for (const op of ops) applyOne(op, attrs);
}

function applyOne(op: WireOp, attrs: AttrList): void {
  const i = attrs.indexOf(op.key);
  if (op.value === undefined) {
    if (i >= 0) attrs.remove(i);
  } else if (i >= 0) attrs.set(i, op.value);
  else attrs.append(op.key, op.value);
}

/** An edit of encoded requests equivalent to the groups, or undefined when some statement needs the decoded path. */
export interface WireTransform {
  edit(bytes: Uint8Array): WalkResult;
}

export function compileWireTransform(signal: OttlSignal, groups: readonly StatementGroup[]): WireTransform | undefined {
  // A resource write in a record-context group (a flat list that also writes records) runs once per
  // record, as the collector runs it: on a resource without records it does not run (perRecord).
  const resourceOps: (WireOp & { perRecord: boolean })[] = [];
  const recordOps: WireOp[] = [];
  const record = RECORD_CONTEXT[signal];
  for (const g of groups) {
    if (g.conditions.length > 0) return undefined;
    if (g.context !== 'resource' && g.context !== record) return undefined;
    for (const s of g.statements as readonly CompiledStatement[]) {
      const w = wireOp(s.ast, g.context);
      if (!w) return undefined;
      if (w.target === 'resource') resourceOps.push({ ...w.op, perRecord: g.context !== 'resource' });
      else if (w.target === record) recordOps.push(w.op);
      else return undefined;
    }
  }
  if (resourceOps.length + recordOps.length === 0) return undefined;
  const anyPerRecord = resourceOps.some((op) => op.perRecord);
  const resAttrs = new AttrList();
  const recAttrs = new AttrList();
  let walker: RequestWalker;
  const visitor: { resource?: (r: ResourceView) => VisitResult; record?: (r: RecordView) => VisitResult } = {};
  if (resourceOps.length > 0) {
    visitor.resource = (r) => {
      const attrs = resAttrs.load(r.buf, r.start, r.end, FIELD.resourceAttributes);
      const withRecords = !anyPerRecord || walker.hasRecords(r);
      for (const op of resourceOps) if (withRecords || !op.perRecord) applyOne(op, attrs);
      return attrs.build() ?? (recordOps.length > 0 ? KEEP : SKIP);
    };
  }
  if (recordOps.length > 0) {
    visitor.record = (rec) => {
      const attrs = recAttrs.load(rec.buf, rec.start, rec.end, rec.attrField);
      apply(recordOps, attrs);
      return walker.replaceRecord(attrs);
    };
  }
  walker = new RequestWalker(visitor);
  return { edit: (bytes) => walker.walk(signal, bytes) };
}
