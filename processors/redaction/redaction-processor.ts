/**
 * Redaction processor: removes attributes whose keys are not allowed and masks sensitive values, as the
 * collector's redaction processor, on resource, scope, log record, span, span event and data point
 * attributes, and on scalar log bodies. It edits the wire (src/processorhelper/wire-edit.ts): only the attribute
 * lists (and bodies) that change are rebuilt, and a request with nothing to redact goes on as the same
 * bytes.
 */
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import type { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import {
  AttrList,
  FIELD,
  KEEP,
  RecordKind,
  RequestWalker,
  ValueType,
  anyValueAsString,
  encodeAnyValue,
  findLenField,
  type Range,
  type WalkResult,
} from '../../src/processorhelper/wire-edit.js';
import { NEXT, lenEnd, lenTag, readVarint, skipField, varintSize, writeFieldHead } from '../../src/pdata/wire-primitives.js';
import type { RedactionProcessorConfig } from './config.js';
import { Redactor, SUMMARY, type Tally } from './redactor.js';
import { editAndForward, wireContext, type WireProcessorContext } from '../../src/processorhelper/wire-processor.js';
import type { WireEditor, WorkerEditorFactory, WorkerEditorSpec } from '../../src/processorhelper/offload.js';
import { sharedCounter } from '../../src/telemetry/metrics.js';
import { METRICS } from './metadata.js';

const SPAN_EVENTS = 11;
const EVENT_ATTRIBUTES = 3;

export class RedactionProcessor implements Processor {
  private readonly wire: WireProcessorContext;
  private readonly editor: RedactionEditor;

  constructor(settings: CreateSettings, config: RedactionProcessorConfig, signal: Signal, next: Consumer) {
    const labels = { processor: settings.id.id, otel_signal: signal };
    const maskedLabels = { ...labels, action: 'masked' };
    const removedLabels = { ...labels, action: 'removed' };
    const counter = sharedCounter(settings.telemetry.registry, METRICS.redactedItems);
    this.editor = new RedactionEditor(config, signal);
    this.wire = wireContext(settings, signal, next, {
      // Per-attribute matching: worth a worker thread when the service has them (and the config redacts).
      offload: this.editor.active ? { editor: WORKER_EDITOR, config } : undefined,
      settle: (out, _before, tally) => {
        const [removed = 0, masked = 0] = tally ?? [];
        if (masked > 0) counter.inc(maskedLabels, masked);
        if (removed > 0) counter.inc(removedLabels, removed);
        return out;
      },
    });
  }

  async start(_host?: Host): Promise<void> {}
  async shutdown(): Promise<void> {}

  consume(payload: Payload): Promise<void> {
    return editAndForward(this.wire, payload, this.editor);
  }
}

/** The redaction of one request; its tally is [attributes removed, values masked]. */
export class RedactionEditor implements WireEditor {
  private readonly walker: RequestWalker | undefined;
  private readonly counts: Tally = { removed: 0, masked: 0 };
  private readonly tallied = [0, 0];

  constructor(
    config: RedactionProcessorConfig,
    private readonly signal: Signal,
  ) {
    const redactor = new Redactor(config);
    this.walker = redactor.active ? this.makeWalker(redactor) : undefined;
  }

  get active(): boolean {
    return this.walker !== undefined;
  }

  get tally(): readonly number[] {
    this.tallied[0] = this.counts.removed;
    this.tallied[1] = this.counts.masked;
    return this.tallied;
  }

  edit(bytes: Uint8Array): WalkResult | undefined {
    this.counts.removed = this.counts.masked = 0;
    return this.walker?.walk(this.signal, bytes);
  }

  private makeWalker(r: Redactor): RequestWalker {
    const tally = this.counts;
    const resAttrs = new AttrList();
    const scopeAttrs = new AttrList();
    const recAttrs = new AttrList();
    const evAttrs = new AttrList();
    const range: Range = { start: 0, end: 0 };
    const bodyMasked = ['body'];
    return new RequestWalker({
      resource(v) {
        r.processAttrs(resAttrs.load(v.buf, v.start, v.end, FIELD.resourceAttributes), tally);
        return resAttrs.build() ?? KEEP;
      },
      scope(v) {
        r.processAttrs(scopeAttrs.load(v.buf, v.start, v.end, FIELD.scopeAttributes), tally);
        return scopeAttrs.build() ?? KEEP;
      },
      record(v) {
        r.processAttrs(recAttrs.load(v.buf, v.start, v.end, v.attrField), tally);
        // A scalar log body: masked like a value; its summary goes to the record's attributes.
        let newBody: Uint8Array | undefined;
        if (v.kind === RecordKind.Log && findLenField(v.buf, v.start, v.end, FIELD.logBody, range)) {
          const body = scalarBody(v.buf, range.start, range.end);
          if (body !== undefined) {
            if (r.isAllowedValue(body)) {
              r.addSummary(recAttrs, bodyMasked, SUMMARY.bodyAllowedKeys, SUMMARY.bodyAllowedCount);
            } else {
              const out = r.maskBlocked(body);
              if (out !== body) {
                newBody = encodeAnyValue(out);
                tally.masked++;
                r.addSummary(recAttrs, bodyMasked, SUMMARY.bodyMaskedKeys, SUMMARY.bodyMaskedCount);
              }
            }
          }
        }
        const built = recAttrs.build();
        let buf: Uint8Array = built ?? v.buf;
        let s = built ? 0 : v.start;
        let e = built ? built.length : v.end;
        if (newBody) {
          buf = replaceLenFields(buf, s, e, FIELD.logBody, () => newBody)!;
          s = 0;
          e = buf.length;
        }
        if (v.kind === RecordKind.Span) {
          const withEvents = replaceLenFields(buf, s, e, SPAN_EVENTS, (b, cs, ce) => {
            r.processAttrs(evAttrs.load(b, cs, ce, EVENT_ATTRIBUTES), tally);
            return evAttrs.build();
          });
          if (withEvents) return withEvents;
        }
        if (buf === v.buf) return KEEP;
        return s === 0 && e === buf.length ? buf : buf.subarray(s, e);
      },
    });
  }
}

/** A log body's text when it is a scalar (string, bool, int, double), as pcommon's AsString; else undefined. */
function scalarBody(buf: Uint8Array, s: number, e: number): string | undefined {
  // The value type is the field number of the oneof member (an AnyValue holds one field).
  if (s === e) return undefined;
  const t = buf[s]! >>> 3;
  if (t === ValueType.String || t === ValueType.Bool || t === ValueType.Int || t === ValueType.Double) return anyValueAsString(buf, s, e);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Rebuilding nested length-delimited fields (span events, the log body) of one message.

/**
 * The content of message buf[s:e] with each occurrence of length-delimited field `field` replaced by
 * edit(content) where that returns bytes; undefined when nothing was replaced.
 */
function replaceLenFields(
  buf: Uint8Array,
  s: number,
  e: number,
  field: number,
  edit: (b: Uint8Array, cs: number, ce: number) => Uint8Array | undefined,
): Buffer | undefined {
  const parts: Uint8Array[] = [];
  let copied = s;
  let pos = s;
  const want = lenTag(field);
  while (pos < e) {
    const fieldStart = pos;
    const tag = readVarint(buf, pos, e);
    pos = NEXT;
    if (tag === want) {
      const ce = lenEnd(buf, pos, e);
      const cs = NEXT;
      pos = ce;
      const content = edit(buf, cs, ce);
      if (content) {
        parts.push(buf.subarray(copied, fieldStart));
        const head = Buffer.allocUnsafe(varintSize(tag) + varintSize(content.length));
        writeFieldHead(head, 0, tag, content.length);
        // Copied now: an edit may return a scratch view reused by the next occurrence.
        parts.push(head, Buffer.from(content));
        copied = pos;
      }
    } else pos = skipField(buf, pos, e, tag);
  }
  if (parts.length === 0) return undefined;
  parts.push(buf.subarray(copied, e));
  return Buffer.concat(parts);
}

/** Builds this processor's editor on a worker thread (named by WORKER_EDITOR). */
export const redactionEditor: WorkerEditorFactory = (config, signal) => new RedactionEditor(config as RedactionProcessorConfig, signal);

/** What the service's worker threads run for this processor: the editor factory above, from this module. */
const WORKER_EDITOR: WorkerEditorSpec = { module: import.meta.url, exportName: 'redactionEditor' };
