/**
 * The tag a WAL record carries beside a request's bytes (the WAL's per-record `meta`): the signal code,
 * and the request's client info (client-info.ts) when it has any. Kept so that a request spilled in Red or
 * queued on disk reaches headers_setter, attributes `from_context`, OTTL's request context and batch
 * `metadata_keys` with the same client as one that went straight through, after a restart too.
 *
 * Layout: a u32 (big-endian) signal code; then, only when there is client info, its entries as UTF-8 JSON.
 * A request without client info is tagged with the bare number, so the common case allocates nothing.
 * Records written before client info was kept carry only the code and read back without it.
 */
import type { RequestMeta } from '../core/auth.js';
import { metaNumber } from '../wal/format.js';

/** A WAL record's meta holds at most 65535 bytes (a u16 length); room is left for the code. */
const MAX_INFO_BYTES = 0xffff - 4;
/** Keys that mark a payload's path through the gateway (e.g. the replay mark), not the client: not kept. */
const INTERNAL_PREFIX = 'gophership.';
const METADATA = 'metadata.';

/** The tag for a record of signal `code` whose request carries `meta`. */
export function recordTag(code: number, meta: RequestMeta | undefined): Uint8Array | number {
  if (meta === undefined) return code;
  let info = clientEntries(meta, false);
  if (info === undefined) return code;
  let json = Buffer.from(JSON.stringify(info));
  // Request headers are bounded by the receiver's header limit, but several can still outgrow a tag:
  // then the headers go and what identifies the client (address, auth.*) stays.
  if (json.length > MAX_INFO_BYTES) {
    info = clientEntries(meta, true);
    if (info === undefined) return code;
    json = Buffer.from(JSON.stringify(info));
    if (json.length > MAX_INFO_BYTES) return code;
  }
  const tag = Buffer.allocUnsafe(4 + json.length);
  tag.writeUInt32BE(code >>> 0, 0);
  json.copy(tag, 4);
  return tag;
}

export interface ReadTag {
  /** The signal code; undefined when the tag is shorter than one (written by another program). */
  code: number | undefined;
  meta: RequestMeta | undefined;
}

/** Reads a record's tag back. Client info that does not parse is dropped: the request's bytes still go. */
export function readRecordTag(tag: Uint8Array): ReadTag {
  if (tag.length < 4) return { code: undefined, meta: undefined };
  const code = metaNumber(tag.subarray(0, 4));
  if (tag.length === 4) return { code, meta: undefined };
  try {
    const parsed: unknown = JSON.parse(Buffer.from(tag.buffer, tag.byteOffset + 4, tag.length - 4).toString('utf8'));
    return { code, meta: isStringRecord(parsed) ? parsed : undefined };
  } catch {
    return { code, meta: undefined };
  }
}

function clientEntries(meta: RequestMeta, withoutHeaders: boolean): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const key in meta) {
    if (key.startsWith(INTERNAL_PREFIX) || (withoutHeaders && key.startsWith(METADATA))) continue;
    (out ??= {})[key] = meta[key]!;
  }
  return out;
}

function isStringRecord(v: unknown): v is Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const x of Object.values(v)) if (typeof x !== 'string') return false;
  return true;
}
