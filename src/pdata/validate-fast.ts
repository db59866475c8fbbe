/**
 * The fast walk of the wire validator (validate.ts holds the contract): the walk every received request
 * takes. It runs over the private copy the UTF-8 check masks (validate-walk.ts, MASK) and takes itself only
 * the shapes that make up nearly every record, each with the verdict the reference walk gives it:
 *
 * - a one-byte tag of a known field with its own wire type (Table.tagAction), a varint value, a
 *   fixed64/fixed32 value inside the message, a length inside the message (an id's: its own, or 0);
 * - a KeyValue written key (1) then value (2), both with one-byte lengths, filling its bytes;
 * - an AnyValue that is one string_value (one- or two-byte length) or one bool/int value, filling its
 *   bytes.
 *
 * Anything else (a tag of more than one byte, an unknown field, a wrong wire type, an id of another length, a packed field, an overrun, a
 * message nested too deep, a KeyValue or AnyValue of another shape) is handed, from its first byte, to the
 * reference walk (generalField, keyValue, anyValue), which checks it and throws for a fault. So the fast
 * walk needs no error text and no flags, bytes it has not taken stay unmasked for the reference walk to
 * read, and every rule lives once, in the reference walk. validate.test.ts holds the two to one verdict.
 *
 * Why: the reference walk measured ~2,600 instructions per 434-byte log record (callgrind,
 * bench/validate-callgrind.mjs): a call per field and per attribute, its flags tested on every field, and
 * lengths of two bytes through readVarint. Its cost now is in bench/RESULTS.md.
 */
import { MAX_NESTING } from './codec.js';
import { NEXT, readVarint } from './wire-primitives.js';
import * as tables from './validate-tables.js';
import type { Table } from './validate-tables.js';
import { anyValue, countItem, generalField, keyValue, zero } from './validate-walk.js';

// Bound here as in validate-walk.ts: module-local consts are cheaper to read than imported bindings.
const { A_BYTES, A_I32, A_I64, A_ID, A_KEY_VALUE, A_ANY_VALUE, A_STRING, A_VARINT } = tables;

/** Largest request the fast walk takes: its positions stay int32 (larger ones take the reference walk). */
export const FAST_WALK_MAX = 0x3fffffff;

/*
 * Positions are int32 here, and sums of them are written `(a + b) | 0`: V8 then adds without an overflow
 * check and keeps the loop's position untagged. Exact, since every position and length summed is at most
 * FAST_WALK_MAX + 2^14 (a longer length is compared with the bytes left before it is added).
 */

/**
 * The end of the varint at buf[p] (before `end`), or -1 when it is truncated or longer than 10 bytes (the
 * reference walk's readVarint refuses both).
 */
function varintEnd(buf: Uint8Array, p: number, end: number): number {
  const last = p + 10 < end ? (p + 10) | 0 : end;
  while (p < last) {
    if (buf[p]! < 0x80) return (p + 1) | 0;
    p = (p + 1) | 0;
  }
  return -1;
}

/**
 * Walks the message buf[pos:end] of type t at nesting `depth`, masking as it goes; throws the reference
 * walk's WireFormatError for a fault. buf.length <= FAST_WALK_MAX.
 */
export function fastMessage(buf: Uint8Array, start: number, stop: number, t: Table, depth: number): void {
  // int32 from here on (see above); the parameters themselves are tagged values.
  let pos = start | 0;
  const end = stop | 0;
  if (t.item) countItem();
  const actions = t.tagAction;
  while (pos < end) {
    const tag = buf[pos]!;
    const a = tag < 0x80 ? actions[tag]! : 0;
    const p = (pos + 1) | 0;
    if (a === A_VARINT) {
      if (p < end && buf[p]! < 0x80) {
        pos = (p + 1) | 0;
        continue;
      }
      const e = varintEnd(buf, p, end);
      if (e >= 0) {
        zero(buf, p, (e - 1) | 0);
        pos = e;
        continue;
      }
    } else if (a === A_I64) {
      if (((p + 8) | 0) <= end) {
        buf[p] = 0;
        buf[(p + 1) | 0] = 0;
        buf[(p + 2) | 0] = 0;
        buf[(p + 3) | 0] = 0;
        buf[(p + 4) | 0] = 0;
        buf[(p + 5) | 0] = 0;
        buf[(p + 6) | 0] = 0;
        buf[(p + 7) | 0] = 0;
        pos = (p + 8) | 0;
        continue;
      }
    } else if (a === A_I32) {
      if (((p + 4) | 0) <= end) {
        buf[p] = 0;
        buf[(p + 1) | 0] = 0;
        buf[(p + 2) | 0] = 0;
        buf[(p + 3) | 0] = 0;
        pos = (p + 4) | 0;
        continue;
      }
    } else if (a !== 0 && p < end) {
      // Length-delimited (string, bytes or a message) with its length inside the message. Two-byte
      // lengths are read here; longer ones (the request's few large messages) by readVarint, which
      // throws for a truncated one as the reference walk would.
      const b0 = buf[p]!;
      let q = (p + 1) | 0;
      let len = b0;
      if (b0 >= 0x80) {
        if (q < end && buf[q]! < 0x80) {
          len = (b0 & 0x7f) | (buf[q]! << 7);
          q = (q + 1) | 0;
        } else {
          const n = readVarint(buf, p, end);
          q = NEXT | 0;
          // Past the message: one byte past its end is enough to send it to the reference walk below.
          len = n <= end - q ? n | 0 : (end - q + 1) | 0;
        }
      }
      const e = (q + len) | 0;
      const taken = a === A_STRING || a === A_BYTES || (a === A_ID ? len === 0 || len === t.idLength[tag >>> 3] : depth + 1 < MAX_NESTING);
      if (e <= end && taken) {
        if (b0 >= 0x80) zero(buf, p, (q - 1) | 0); // the length's last byte is < 0x80
        if (a === A_KEY_VALUE) {
          fastKeyValue(buf, q, e, (depth + 1) | 0);
          // Attributes come in runs: the next ones with the same tag and a one-byte length are taken
          // here, without the dispatch above.
          pos = e;
          while (((pos + 1) | 0) < end && buf[pos] === tag && buf[(pos + 1) | 0]! < 0x80) {
            const s = (pos + 2) | 0;
            const f = (s + buf[(pos + 1) | 0]!) | 0;
            if (f > end) break;
            fastKeyValue(buf, s, f, (depth + 1) | 0);
            pos = f;
          }
          continue;
        } else if (a === A_ANY_VALUE) fastAnyValue(buf, q, e, (depth + 1) | 0);
        else if (a === A_BYTES || a === A_ID) zero(buf, q, e);
        else if (a !== A_STRING) fastMessage(buf, q, e, t.sub[tag >>> 3]!, (depth + 1) | 0);
        pos = e;
        continue;
      }
    }
    pos = generalField(buf, pos, end, t, depth) | 0;
  }
}

/** A KeyValue in buf[pos:end] at nesting `depth`: the common attribute here, any other to the reference walk. */
function fastKeyValue(buf: Uint8Array, pos: number, end: number, depth: number): void {
  if (((pos + 2) | 0) <= end && buf[pos] === 0x0a && buf[(pos + 1) | 0]! < 0x80) {
    const k = (pos + 2 + buf[(pos + 1) | 0]!) | 0;
    if (((k + 2) | 0) <= end && buf[k] === 0x12 && buf[(k + 1) | 0]! < 0x80 && ((k + 2 + buf[(k + 1) | 0]!) | 0) === end) {
      const v = (k + 2) | 0;
      const vlen = (end - v) | 0;
      // One short string_value filling the AnyValue: as the reference walk, with no nesting check.
      if (vlen >= 2 && buf[v] === 0x0a && buf[(v + 1) | 0] === vlen - 2) return;
      if (depth + 1 < MAX_NESTING) {
        fastAnyValue(buf, v, end, (depth + 1) | 0);
        return;
      }
    }
  }
  keyValue(buf, pos, end, depth);
}

/** An AnyValue in buf[pos:end] at nesting `depth`: one string, bool or int value here, any other to the reference walk. */
function fastAnyValue(buf: Uint8Array, pos: number, end: number, depth: number): void {
  if (((pos + 2) | 0) <= end) {
    const tag = buf[pos]!;
    const b = buf[(pos + 1) | 0]!;
    if (tag === 0x0a) {
      // string_value, a one- or two-byte length filling the AnyValue
      if (b < 0x80) {
        if (((pos + 2 + b) | 0) === end) return;
      } else if (((pos + 3) | 0) <= end && buf[(pos + 2) | 0]! < 0x80 && ((pos + 3 + ((b & 0x7f) | (buf[(pos + 2) | 0]! << 7))) | 0) === end) {
        buf[(pos + 1) | 0] = 0;
        return;
      }
    } else if (tag === 0x10 || tag === 0x18) {
      // bool_value or int_value filling the AnyValue
      if (varintEnd(buf, (pos + 1) | 0, end) === end) {
        zero(buf, (pos + 1) | 0, (end - 1) | 0);
        return;
      }
    }
  }
  anyValue(buf, pos, end, depth);
}
