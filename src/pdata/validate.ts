/**
 * Full wire-format validation of an encoded Export request, without decoding it: every field of every
 * message is checked against the OTLP schema (proto/gen), the way the collector's unmarshal checks it.
 *
 * Why: the receiver acknowledges bytes it never decodes (Yellow forwards them, Red spills them, batch joins
 * them), so bytes it accepts must be bytes every later stage and every downstream collector can read. A
 * request that only looks right at the top (framing) but is broken inside, or is another signal's message,
 * would pass the receiver with 200 and then fail a whole joined batch permanently, taking other clients'
 * data with it. The collector answers such a request 400 at the receiver; so does this.
 *
 * Checked, as the collector's pdata unmarshal does: wire types of known fields (a message or string field
 * must be length-delimited, a fixed64 field 8 bytes, ...), lengths within their parent, packed repeated
 * fields whole, trace ids of 16 bytes and span ids of 8 (or empty), nesting no deeper than the decoder
 * takes (MAX_NESTING). Unknown fields are skipped, except groups (wire type 3, absent from proto3),
 * which are refused: the gateway's wire scans cannot skip them. Beyond pdata: every string field
 * (KeyValue keys, string values, names, severity text, ...) must be valid UTF-8, since protobuf requires it
 * and strict downstreams (protobuf-es, Go's protobuf) refuse a message holding one bad string, which would
 * sink every other client's records joined into the same batch. The check is one native `buffer.isUtf8`
 * call per request, over a private copy in which the walk has zeroed every byte that is not string text
 * (MASK in validate-walk.ts); its cost is in bench/RESULTS.md (bench/utf8-check.mjs). Not checked: enum values.
 *
 * The walk also counts the request's items (log records, spans, metric data points), so it replaces the
 * framing scan at the receiver. It allocates nothing per field; the field path in an error is rebuilt only
 * when there is an error. The per-message tables it walks are built from the schema in validate-tables.ts.
 *
 * Two walks give the verdict: the fast walk (validate-fast.ts), which every request takes, masking the
 * copy as it goes, and the reference walk (validate-walk.ts), which holds every rule; the fast walk hands it
 * every field whose shape it does not take itself. A refused request is walked again by the reference walk
 * alone, on its own bytes, to name the fault.
 */
import { isUtf8 } from 'node:buffer';
import { WireFormatError, readVarint, NEXT } from './wire-primitives.js';
import type { Signal } from '../core/signal.js';
import { MAX_NESTING } from './codec.js';
import { REQUEST_TABLE, type Table } from './validate-tables.js';
import { endWalk, message, skipUnknown, startWalk } from './validate-walk.js';
import { FAST_WALK_MAX, fastMessage } from './validate-fast.js';

/**
 * The field path down to byte offset `at` (`resource_logs[0].scope_logs[1].log_records[3].attributes[2]`)
 * and the message type holding it: the request is walked again from the top, which is only done for an
 * error, along bytes already read once without fault.
 */
function locate(buf: Uint8Array, root: Table, at: number): { path: string; type: string } {
  const parts: string[] = [];
  let t = root;
  let start = 0;
  let end = buf.length;
  for (let guard = 0; guard <= MAX_NESTING; guard++) {
    let pos = start;
    const count = new Map<number, number>();
    let next: { t: Table; s: number; e: number } | undefined;
    walk: while (pos < end && pos <= at) {
      let tag: number;
      try {
        tag = readVarint(buf, pos, end);
      } catch {
        break walk;
      }
      pos = NEXT;
      const field = Math.floor(tag / 8);
      const n = count.get(field) ?? 0;
      count.set(field, n + 1);
      const sub = field < t.sub.length ? t.sub[field] : undefined;
      try {
        if ((tag & 7) === 2 && sub) {
          const len = readVarint(buf, pos, end);
          pos = NEXT;
          const e = Math.min(pos + len, end);
          if (at >= pos && at < e) {
            parts.push(`${t.fieldName[field]}[${n}]`);
            next = { t: sub, s: pos, e };
            break;
          }
          pos = e;
        } else pos = skipUnknown(buf, pos, end, field, tag & 7, 0);
      } catch {
        // The faulty field itself: the message holding it is where the path ends.
        break;
      }
    }
    if (!next) break;
    t = next.t;
    start = next.s;
    end = next.e;
  }
  return { path: parts.join('.'), type: t.name };
}

/**
 * The reference walk of the request in buf (the request's own bytes); returns the item count, or throws
 * the first fault in the request's order as WireFormatError naming its field path. `eachString`: check
 * every string field's UTF-8 on its own.
 */
function walk(signal: Signal, buf: Uint8Array, eachString: boolean): number {
  startWalk(false, eachString);
  try {
    message(buf, 0, buf.length, REQUEST_TABLE[signal], 0);
    return endWalk();
  } catch (err) {
    endWalk();
    if (!(err instanceof WireFormatError) || err.at < 0) throw err;
    let where = '';
    try {
      const { path, type } = locate(buf, REQUEST_TABLE[signal], err.at);
      if (path !== '') where = ` (in ${type} at ${path})`;
    } catch {
      /* the path is a courtesy; the problem itself is reported either way */
    }
    throw new WireFormatError(`${err.message}${where}`);
  }
}

/** The fast walk over `copy` (a private copy of the request, masked as it goes): the item count, or -1 for a fault. */
function fastWalk(signal: Signal, copy: Uint8Array): number {
  startWalk(true, false);
  try {
    if (copy.length <= FAST_WALK_MAX) fastMessage(copy, 0, copy.length, REQUEST_TABLE[signal], 0);
    else message(copy, 0, copy.length, REQUEST_TABLE[signal], 0); // over 1 GiB: no receiver takes one
    return endWalk();
  } catch (err) {
    endWalk();
    if (err instanceof WireFormatError) return -1;
    throw err;
  }
}

/** For tests: the verdict of the reference walk alone (the fast walk's masked pass done by the reference walk). */
export function validateByReference(signal: Signal, bytes: Uint8Array, opts: { utf8?: boolean } = {}): number {
  const copy = Buffer.from(bytes);
  startWalk(true, false);
  let items = -1;
  try {
    message(copy, 0, copy.length, REQUEST_TABLE[signal], 0);
    items = endWalk();
  } catch (err) {
    endWalk();
    if (!(err instanceof WireFormatError)) throw err;
  }
  if (items >= 0 && (opts.utf8 === false || isUtf8(copy))) return items;
  return walk(signal, bytes, opts.utf8 !== false);
}

/**
 * The request's verdict: the fast walk over `copy`, then (utf8) one native isUtf8 over the masked copy.
 * Only when either refuses is the request (`original`: its bytes, or the pieces they were joined from)
 * walked again by the reference walk, string by string, to name the first fault in the request's order.
 */
function check(signal: Signal, copy: Uint8Array, original: Uint8Array | readonly Uint8Array[], utf8: boolean): number {
  const items = fastWalk(signal, copy);
  if (items >= 0 && (!utf8 || isUtf8(copy))) return items;
  // Joined again only to name a fault: the copy is masked by then.
  walk(signal, original instanceof Uint8Array ? original : Buffer.concat(original as Uint8Array[], copy.length), utf8);
  // The walks disagree (a bug): the request is refused all the same.
  throw new WireFormatError('the request failed the wire check, but its fault could not be located; report this with the request');
}

/** Largest request copied into the reused scratch buffer; larger ones get a buffer of their own. */
const SCRATCH_KEEP = 4 * 1024 * 1024;
let scratch: Buffer | undefined;

/**
 * A buffer of `size` bytes for a copy of a request, used only within one synchronous call: the module's
 * reused scratch up to SCRATCH_KEEP, so a request costs no allocation of its size (with bodies passing at
 * hundreds of MB/s, every such allocation is external memory V8 answers with young and full collections).
 */
function scratchOf(size: number): Buffer {
  if (size > SCRATCH_KEEP) return Buffer.allocUnsafeSlow(size);
  if (scratch === undefined || scratch.length < size)
    scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_KEEP, Math.max(size, 2 * (scratch?.length ?? 0), 512 * 1024)));
  return scratch.subarray(0, size);
}

/**
 * Validates an encoded Export request of `signal` and returns its item count (log records, spans or
 * metric data points, as the collector counts them). Throws WireFormatError naming the field path at fault.
 * `utf8: false` skips the string check (check_utf8: false at the receiver; benchmarks measure its cost).
 */
export function validateRequest(signal: Signal, bytes: Uint8Array, opts: { utf8?: boolean } = {}): number {
  const copy = scratchOf(bytes.length);
  copy.set(bytes);
  return check(signal, copy, bytes, opts.utf8 !== false);
}

/**
 * validateRequest for a request held as consecutive pieces (a body as the HTTP parser delivered it). The
 * pieces are joined into the scratch buffer (the copy the walk masks), so a request that is forwarded as
 * its pieces costs no allocation of its size.
 */
export function validateRequestParts(signal: Signal, parts: readonly Uint8Array[], _size: number, opts: { utf8?: boolean } = {}): number {
  if (parts.length === 1) return validateRequest(signal, parts[0]!, opts);
  let total = 0;
  for (const p of parts) total += p.length;
  const joined = scratchOf(total);
  let off = 0;
  for (const p of parts) {
    joined.set(p, off);
    off += p.length;
  }
  return check(signal, joined, parts, opts.utf8 !== false);
}
