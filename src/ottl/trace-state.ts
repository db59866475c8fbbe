/**
 * A span's W3C `tracestate` header read and written by key, as OTTL's `span.trace_state["key"]` does in the
 * collector (through OpenTelemetry Go's trace.ParseTraceState, Get and Insert): members are `key=value`
 * separated by commas (spaces and tabs allowed before a key and after a value, empty members skipped), at most 32, each key
 * once. A header that does not parse reads as nil and is left as it is by a write; a key or value the
 * format does not allow is not written.
 */

/** A simple key (`vendor`) or a multi-tenant one (`tenant@vendor`), as the W3C format allows. */
const KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
/** Printable ASCII but `,` and `=`, at most 256 characters, not ending in a space. */
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_MEMBERS = 32;

type Members = [key: string, value: string][];

/** The members of `header` in order, or undefined when it is not a valid tracestate. */
function parse(header: string): Members | undefined {
  const members: Members = [];
  const seen = new Set<string>();
  for (const member of header.split(',')) {
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq < 0) return undefined;
    const key = member.slice(0, eq).replace(/^[ \t]+/, '');
    const value = member.slice(eq + 1).replace(/[ \t]+$/, '');
    if (!KEY.test(key) || !VALUE.test(value) || seen.has(key)) return undefined;
    seen.add(key);
    members.push([key, value]);
  }
  return members.length > MAX_MEMBERS ? undefined : members;
}

/** The value of `key` in `header` ("" when absent), or null when the header does not parse. */
export function traceStateGet(header: string, key: string): string | null {
  const members = parse(header);
  if (!members) return null;
  return members.find(([k]) => k === key)?.[1] ?? '';
}

/**
 * `header` with `key` set to `value` as its first member (an update moves the key to the front, as the
 * format asks), the last member dropped past 32; undefined when nothing is to be written (the header does
 * not parse, or the key or value is not allowed).
 */
export function traceStateInsert(header: string, key: string, value: string): string | undefined {
  const members = parse(header);
  if (!members || !KEY.test(key) || !VALUE.test(value)) return undefined;
  const out: Members = [[key, value], ...members.filter(([k]) => k !== key)];
  if (out.length > MAX_MEMBERS) out.length = MAX_MEMBERS;
  return out.map(([k, v]) => `${k}=${v}`).join(',');
}
