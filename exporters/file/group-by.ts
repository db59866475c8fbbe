/**
 * group_by: splits an Export request by the value of one resource attribute, on the wire. Each top-level
 * entry (ResourceLogs/ResourceSpans/ResourceMetrics, field 1 of every signal) is copied as it is into the
 * request of its group; nothing is decoded but the Resource's attributes.
 */
import { forEachField } from '../../src/pdata/wire.js';
import { varintSize, writeVarint } from '../../src/processorhelper/wire-edit.js';

const decoder = new TextDecoder();

/** The string value of attribute `key` in a Resource message, if it has one. */
function resourceAttribute(buf: Uint8Array, start: number, end: number, key: Uint8Array): string | undefined {
  let found: string | undefined;
  forEachField(buf, start, end, 1, (ks, ke) => {
    if (found !== undefined) return;
    let match = false;
    forEachField(buf, ks, ke, 1, (ns, ne) => {
      match = ne - ns === key.length && Buffer.compare(Buffer.from(buf.buffer, buf.byteOffset + ns, ne - ns), key) === 0;
    });
    if (!match) return;
    // KeyValue.value (2) -> AnyValue.string_value (1)
    forEachField(buf, ks, ke, 2, (vs, ve) => forEachField(buf, vs, ve, 1, (ss, se) => (found = decoder.decode(buf.subarray(ss, se)))));
  });
  return found;
}

/** The request split into one request per attribute value; resources without it are left out (as the collector). */
export function splitByResourceAttribute(request: Uint8Array, attribute: string): Map<string, Uint8Array> {
  const key = Buffer.from(attribute);
  const groups = new Map<string, Array<[number, number]>>();
  forEachField(request, 0, request.length, 1, (s, e) => {
    let value: string | undefined;
    forEachField(request, s, e, 1, (rs, re) => (value = resourceAttribute(request, rs, re, key)));
    if (value === undefined || value === '') return;
    const list = groups.get(value);
    if (list) list.push([s, e]);
    else groups.set(value, [[s, e]]);
  });
  const out = new Map<string, Uint8Array>();
  for (const [value, ranges] of groups) {
    let size = 0;
    for (const [s, e] of ranges) size += 1 + varintSize(e - s) + (e - s);
    const buf = new Uint8Array(size);
    let pos = 0;
    for (const [s, e] of ranges) {
      buf[pos++] = 0x0a; // field 1, length-delimited
      pos = writeVarint(buf, pos, e - s);
      buf.set(request.subarray(s, e), pos);
      pos += e - s;
    }
    out.set(value, buf);
  }
  return out;
}
