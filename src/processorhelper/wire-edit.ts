/**
 * Wire-level editing of encoded OTLP Export requests: processors change attributes, drop records or mask
 * values without decoding the request. Only the bytes that change are rebuilt (a record, a Resource) plus
 * the length prefixes of their ancestors; everything else is copied as received, and a request nothing
 * changed comes back as the very same Uint8Array, so an exporter forwards it byte for byte.
 *
 * ## API (stable; other processors build on it)
 *
 * ### RequestWalker — visit resources, scopes, metrics and records; keep, drop or replace each
 * ```ts
 * const walker = new RequestWalker({
 *   resource(r) { return KEEP },   // r: ResourceView; KEEP | DROP | SKIP | Uint8Array (new Resource content)
 *   scope(s) { return KEEP },      // s: ScopeView;    KEEP | DROP | SKIP | Uint8Array (new InstrumentationScope content)
 *   metric(m) { return KEEP },     // metrics only; m: MetricView; KEEP | DROP | SKIP
 *   record(rec) { return KEEP },   // rec: RecordView (log record / span / data point); KEEP | DROP | Uint8Array (new record content)
 * }, { pruneEmpty: false });
 * const out = walker.walk('logs', bytes);   // { bytes, changed, items }
 * if (out.changed) payload.replaceBytes(out.bytes, out.items >= 0 ? out.items : undefined);
 * ```
 * - Hooks are optional; the walker descends only as deep as the deepest hook (a resource-only visitor
 *   never reads a scope), and SKIP keeps a container without visiting what is inside it.
 * - Replacement bytes are the new *content* of the message (no tag, no length): the walker frames them.
 *   They are copied before the next callback, so a visitor may return a view of a reused scratch buffer
 *   (AttrList.build() returns one). A record hook that edited an AttrList can instead
 *   `return walker.replaceRecord(attrs)`: the record is built straight into the walker (one copy fewer).
 * - Runs of consecutive replaced records become one edit, so the output is assembled in large copies.
 * - A resource or scope absent from the wire is visited with `present = false` and an empty range at the
 *   start of its parent; returning bytes inserts it.
 * - `pruneEmpty` (filter semantics, as the collector's filter processor): after the visit, a metric with
 *   no data points, a scope with no records and a resource with no scopes are removed.
 * - `items` is the number of records kept (log records, spans, data points; the collector's count), or
 *   -1 when the walk did not descend to records.
 * - Views are reused objects, valid only during the callback. `view.buf` is the request (a Buffer over
 *   the caller's bytes); `start`/`end` delimit the message content. Views of records point up to their
 *   scope and resource views, so a record hook can match on resource attributes.
 * - Malformed framing throws WireFormatError (from src/pdata/wire-primitives.ts).
 *
 * ### AttrList — read and edit one message's repeated KeyValue field lazily
 * ```ts
 * const attrs = new AttrList();           // reuse per processor: no per-record allocation while reading
 * attrs.load(rec.buf, rec.start, rec.end, rec.attrField);
 * const i = attrs.indexOf(keyBytes);      // keys as UTF-8 bytes (utf8('http.method')), first occurrence
 * attrs.type(i); attrs.str(i); attrs.int(i); attrs.double(i); attrs.bool(i); attrs.asString(i);
 * attrs.set(i, anyValueContent); attrs.setString(i, 'x'); attrs.remove(i); attrs.append(keyBytes, content);
 * const content = attrs.build();          // undefined when nothing changed; else the message's new content
 * ```
 * Edits are seen by later reads (an action list runs in order). Removal keeps the order of the other
 * attributes; appended attributes go last, as pcommon's Map.PutEmpty does.
 * `encodeAnyValue(jsValue)` pre-encodes a config value; `anyValueAsString` is pcommon's Value.AsString.
 *
 * Field helpers: `findVarintField`, `findLenField` read one field of a message (e.g. severity_number,
 * body, span name, metric name) without decoding it; `copyBytes` copies without allocating a view.
 *
 * ## Where each part lives (this file only gathers them)
 * - `src/pdata/wire-primitives.ts`: varints, tags, skips, length-delimited fields (the one reader/writer).
 * - `otlp-fields.ts`: OTLP field numbers, record kinds, AnyValue types.
 * - `record-views.ts`: the views a visitor sees and what its hooks return.
 * - `request-walker.ts`: RequestWalker.
 * - `attr-list.ts`: AttrList and the attribute `hash`.
 * - `any-value.ts`: AnyValue reading, AsString, encoding of config values.
 */
export { WireFormatError, copyBytes, findLenField, findVarintField, varintSize, writeVarint, type Range } from '../pdata/wire-primitives.js';
export { FIELD, RecordKind, ValueType } from './otlp-fields.js';
export * from './record-views.js';
export { RequestWalker } from './request-walker.js';
export { AttrList, hashEntry, sha256Hex } from './attr-list.js';
export { anyValueAsString, encodeAnyValue, encodeKeyValue, formatDouble, utf8, type JsAnyValue } from './any-value.js';
