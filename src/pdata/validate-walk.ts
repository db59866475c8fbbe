/**
 * The reference walk of the wire validator (validate.ts holds the contract): every field of every message
 * checked against its table (validate-tables.ts), one field at a time through generalField, KeyValue and
 * AnyValue by walks of their own. It names faults (the walk validate.ts runs once a request is refused),
 * and it is what the fast walk (validate-fast.ts) falls back to for every field it does not take itself,
 * so the two give one verdict: the fast walk only takes shapes whose verdict here is plain (a known field
 * of the right wire type, one- or two-byte varints, lengths inside the parent).
 */
import { isUtf8 } from 'node:buffer';
import { NEXT, WireFormatError, readVarint } from './wire-primitives.js';
import { MAX_NESTING } from './codec.js';
import * as tables from './validate-tables.js';
import type { Table } from './validate-tables.js';

// The tables' constants bound again here: the walks below read them on every field, and a module-local
// const is cheaper for V8 to read than an imported binding (importing them directly measured 1.03-1.06x
// the validator's CPU in bench/validate-ab.mjs, lowest and lower-quartile of 8 runs; bound here, 0.99-1.00x).
const { K_I32, K_I64, K_ID, K_MESSAGE, K_PACKED_I32, K_PACKED_I64, K_PACKED_VARINT, K_STRING, K_VARINT } = tables;
const { ANY_VALUE, KEY_VALUE } = tables;

const WIRE_NAME = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32'];

// The walks keep their read position in a local (a module-level position would be a memory store per
// byte read); varints go through readMasked, which leaves the position after them in NEXT. Speed matters
// less here than in the fast walk: this walk takes the rare shapes, and names faults.
let ITEMS = 0;

/** A problem at byte offset `at` of the request; the field path is worked out from it afterwards. */
class FieldError extends WireFormatError {
  constructor(at: number, problem: string) {
    super(problem, at);
  }
}

/*
 * How the walks treat string fields (module-level flags like NEXT and ITEMS, set per walk, so the walks
 * take no extra argument; `var`: no initialisation check on every read).
 *
 * MASK: the walk runs over a private copy of the request and zeroes in it every byte that is not string
 * text and may be >= 0x80: fixed-width values, bytes fields (ids, bytes_value), unknown fields, packed
 * fields and every multi-byte varint (tags, lengths, values). One native `isUtf8` over the whole copy then
 * says whether every string is valid UTF-8: the byte before a string is the last byte of its length
 * (< 0x80) and the byte after it is the first byte of a tag, zeroed when the tag is multi-byte, so no
 * character can straddle a string's edge. That tag masking is what the guarantee rests on (a string cut
 * inside a character must not be completed by the next tag's first byte; validate.test.ts holds it); the
 * rest of the masking keeps a valid request from failing the one call and taking the walk below. A call
 * per string (with the view it needs) measured 2-4x slower and the JS scan of the strings' bytes this
 * replaced ~3x slower than the copy, the masking and the one native call together (bench/RESULTS.md).
 *
 * EACH_STRING: every string is checked on its own, on the request's own bytes (no masking): the walk that
 * finds and names the bad string once the masked check has failed.
 */
/* eslint-disable no-var */
var MASK = false;
var EACH_STRING = false;
/* eslint-enable no-var */

/** Starts a walk: resets the item count and sets how strings are treated (see MASK and EACH_STRING). */
export function startWalk(mask: boolean, eachString: boolean): void {
  ITEMS = 0;
  MASK = mask;
  EACH_STRING = eachString;
}

/** Ends a walk (also after a fault); returns the items it counted. */
export function endWalk(): number {
  MASK = false;
  EACH_STRING = false;
  return ITEMS;
}

/** One more item (log record, span, data point) seen by the fast walk. */
export function countItem(): void {
  ITEMS++;
}

/** Zeroes buf[from:to] of the masked copy (short runs: fixed values, ids, multi-byte varints). */
export function zero(buf: Uint8Array, from: number, to: number): void {
  if (to - from > 32) buf.fill(0, from, to);
  else for (let i = from; i < to; i++) buf[i] = 0;
}

/**
 * Reads the varint (a tag, a length or a value) at buf[pos] and leaves the position after it in NEXT;
 * masks it when it takes more than one byte (a one-byte varint is < 0x80).
 */
function readMasked(buf: Uint8Array, pos: number, end: number): number {
  const v = readVarint(buf, pos, end);
  if (MASK && NEXT - pos > 1) zero(buf, pos, NEXT);
  return v;
}

/** Throws unless buf[pos:end] is valid UTF-8 (the EACH_STRING walk). */
function checkUtf8(buf: Uint8Array, pos: number, end: number, at: number, what: string, t?: Table, field = 0): void {
  if (!isUtf8(buf.subarray(pos, end)))
    throw new FieldError(at, `${fieldLabel(what, t, field)} is not valid UTF-8 (protobuf strings must be); fix the client's encoding of this string`);
}

/** Names a field for an error: `what` itself, or field `field` of table `t` when given. */
function fieldLabel(what: string, t: Table | undefined, field: number): string {
  return t ? `field ${t.fieldName[field] || '?'} (${field})` : what;
}

function overrun(at: number, len: number, left: number, what: string, t?: Table, field = 0): FieldError {
  return new FieldError(at, `${fieldLabel(what, t, field)} overruns its message (${len} bytes declared, ${left} left)`);
}

/**
 * Skips an unknown field's value (groups included, as the collector's unmarshal does); returns the
 * position after it.
 */
export function skipUnknown(buf: Uint8Array, pos: number, end: number, field: number, wt: number, _depth: number): number {
  switch (wt) {
    case 0:
      readMasked(buf, pos, end);
      return NEXT;
    case 1:
    case 5: {
      const n = wt === 1 ? 8 : 4;
      if (pos + n > end) throw overrun(pos, n, end - pos, `field ${field}`);
      if (MASK) zero(buf, pos, pos + n);
      return pos + n;
    }
    case 2: {
      // An unknown field's bytes are not checked (a newer schema's string included), so they are masked.
      const len = readVarint(buf, pos, end);
      if (NEXT + len > end) throw overrun(pos, len, end - NEXT, `field ${field}`);
      if (MASK) zero(buf, pos, NEXT + len);
      return NEXT + len;
    }
    case 3:
      // OTLP is proto3, which has no groups, and the gateway's own wire scans (countItems, the wire editor)
      // cannot skip one: a request holding a group would be acknowledged and then fail in the pipeline,
      // or on replay from a WAL. Found by bench/fuzz.mjs.
      throw new FieldError(pos, `field ${field} is a group (wire type 3), which OTLP (proto3) does not use`);
    default:
      throw new FieldError(pos, `wire type ${wt} (${WIRE_NAME[wt] ?? 'invalid'}) is not valid here`);
  }
}

/** What a field of kind `k` is on the wire, for error messages. */
function kindName(k: number): string {
  if (k === K_MESSAGE) return 'a message';
  if (k === K_VARINT || k === K_PACKED_VARINT) return 'a varint';
  if (k === K_I64 || k === K_PACKED_I64) return 'fixed64';
  if (k === K_I32 || k === K_PACKED_I32) return 'fixed32';
  return 'length-delimited';
}

function wrongWireType(t: Table, field: number, wt: number, at: number): FieldError {
  const k = t.kind[field]!;
  return new FieldError(at, `field ${t.fieldName[field]} (${field}) is ${kindName(k)} but came as wire type ${wt} (${WIRE_NAME[wt] ?? 'invalid'})`);
}

function tooDeep(at: number): FieldError {
  return new FieldError(at, `messages nested deeper than ${MAX_NESTING} levels`);
}

/** KeyValue { key = 1 (string); value = 2 (AnyValue) } in buf[pos:end] at nesting `depth`. */
export function keyValue(buf: Uint8Array, pos: number, end: number, depth: number): void {
  while (pos < end) {
    const at = pos;
    const tag = readMasked(buf, pos, end);
    pos = NEXT;
    if (tag === 0x0a || tag === 0x12) {
      const len = readMasked(buf, pos, end);
      pos = NEXT;
      const e = pos + len;
      if (e > end) throw overrun(at, len, end - pos, tag === 0x0a ? 'field key (1)' : 'field value (2)');
      if (tag === 0x0a) {
        if (EACH_STRING) checkUtf8(buf, pos, e, at, 'field key (1)');
      } else if (len >= 2 && len < 0x82 && buf[pos] === 0x0a && buf[pos + 1]! === len - 2) {
        // The common value, one short string_value (one-byte length) filling the AnyValue exactly, is
        // taken right here.
        if (EACH_STRING) checkUtf8(buf, pos + 2, e, pos, 'field string_value (1)');
      } else {
        if (depth + 1 >= MAX_NESTING) throw tooDeep(at);
        anyValue(buf, pos, e, depth + 1);
      }
      pos = e;
    } else pos = unknownOrWrong(buf, pos, end, KEY_VALUE, tag, at, depth);
  }
}

/** AnyValue { string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7 } in buf[pos:end]. */
export function anyValue(buf: Uint8Array, pos: number, end: number, depth: number): void {
  while (pos < end) {
    const at = pos;
    const tag = readMasked(buf, pos, end);
    pos = NEXT;
    switch (tag) {
      case 0x0a: // string_value
      case 0x3a: // bytes_value
      case 0x2a: // array_value: ArrayValue { repeated AnyValue values = 1 }
      case 0x32: {
        // kvlist_value: KeyValueList { repeated KeyValue values = 1 }
        const len = readMasked(buf, pos, end);
        pos = NEXT;
        const e = pos + len;
        if (e > end) throw overrun(at, len, end - pos, '', ANY_VALUE, tag >>> 3);
        if (tag === 0x0a) {
          if (EACH_STRING) checkUtf8(buf, pos, e, at, 'field string_value (1)');
        } else if (tag === 0x2a || tag === 0x32) {
          if (depth + 1 >= MAX_NESTING) throw tooDeep(at);
          listValues(buf, pos, e, depth + 1, tag === 0x2a);
        } else if (MASK) zero(buf, pos, e); // bytes_value
        pos = e;
        break;
      }
      case 0x10: // bool_value
      case 0x18: // int_value
        readMasked(buf, pos, end);
        pos = NEXT;
        break;
      case 0x21: // double_value
        if (pos + 8 > end) throw overrun(at, 8, end - pos, 'field double_value (4)');
        if (MASK) zero(buf, pos, pos + 8);
        pos += 8;
        break;
      default:
        pos = unknownOrWrong(buf, pos, end, ANY_VALUE, tag, at, depth);
    }
  }
}

/** ArrayValue / KeyValueList { repeated AnyValue|KeyValue values = 1 } in buf[pos:end]. */
function listValues(buf: Uint8Array, pos: number, end: number, depth: number, array: boolean): void {
  const t = ANY_VALUE.sub[array ? 5 : 6]!;
  while (pos < end) {
    const at = pos;
    const tag = readMasked(buf, pos, end);
    pos = NEXT;
    if (tag === 0x0a) {
      const len = readMasked(buf, pos, end);
      pos = NEXT;
      const e = pos + len;
      if (e > end) throw overrun(at, len, end - pos, 'field values (1)');
      if (depth + 1 >= MAX_NESTING) throw tooDeep(at);
      if (array) anyValue(buf, pos, e, depth + 1);
      else keyValue(buf, pos, e, depth + 1);
      pos = e;
    } else pos = unknownOrWrong(buf, pos, end, t, tag, at, depth);
  }
}

/**
 * A tag a fast walk did not expect: an unknown field (skipped; returns the position after it) or a known
 * field of the wrong wire type (thrown).
 */
function unknownOrWrong(buf: Uint8Array, pos: number, end: number, t: Table, tag: number, at: number, depth: number): number {
  const field = Math.floor(tag / 8);
  if (field === 0 || tag > 0xffffffff) throw new FieldError(at, `invalid field number ${field}`);
  const k = field < t.kind.length ? t.kind[field]! : 0;
  if (k !== 0) throw wrongWireType(t, field, tag & 7, at);
  return skipUnknown(buf, pos, end, field, tag & 7, depth);
}

/**
 * Validates the message buf[pos:end] of type t at nesting `depth`, field by field through generalField:
 * the reference walk (error naming, and what the fast walk falls back to; see validate-fast.ts).
 */
export function message(buf: Uint8Array, pos: number, end: number, t: Table, depth: number): void {
  if (t.item) ITEMS++;
  while (pos < end) pos = generalField(buf, pos, end, t, depth);
}

/**
 * One field of message type t at buf[at] (its tag included), checked against its kind in t; returns the
 * position after it. Every field the fast walk does not take itself comes here, with the same verdict.
 */
export function generalField(buf: Uint8Array, at: number, end: number, t: Table, depth: number): number {
  const kinds = t.kind;
  let pos = at;
  const tag = readMasked(buf, pos, end);
  pos = NEXT;
  const field = tag >>> 3;
  const wt = tag & 7;
  if (tag > 0xffffffff || field === 0) throw new FieldError(at, `invalid field number ${Math.floor(tag / 8)}`);
  const k = field < kinds.length ? kinds[field]! : 0;
  if (k === 0) return skipUnknown(buf, pos, end, field, wt, depth);
  if (wt === 0) {
    if (k !== K_VARINT && k !== K_PACKED_VARINT) throw wrongWireType(t, field, wt, at);
    readMasked(buf, pos, end);
    pos = NEXT;
  } else if (wt === 1 || wt === 5) {
    if (wt === 1 ? k !== K_I64 && k !== K_PACKED_I64 : k !== K_I32 && k !== K_PACKED_I32) throw wrongWireType(t, field, wt, at);
    const n = wt === 1 ? 8 : 4;
    if (pos + n > end) throw overrun(at, n, end - pos, '', t, field);
    if (MASK) zero(buf, pos, pos + n);
    pos += n;
  } else if (wt === 2) {
    // Length-delimited fields the fast walk leaves here (ids, packed fields, tags past field 15): rare.
    if (k === K_VARINT || k === K_I64 || k === K_I32) throw wrongWireType(t, field, wt, at);
    const len = readMasked(buf, pos, end);
    pos = NEXT;
    const e = pos + len;
    if (e > end) throw overrun(at, len, end - pos, '', t, field);
    if (k === K_MESSAGE) {
      if (depth + 1 >= MAX_NESTING) throw tooDeep(at);
      const sub = t.sub[field]!;
      if (sub === KEY_VALUE) keyValue(buf, pos, e, depth + 1);
      else if (sub === ANY_VALUE) anyValue(buf, pos, e, depth + 1);
      else message(buf, pos, e, sub, depth + 1);
    } else if (k === K_STRING) {
      if (EACH_STRING) checkUtf8(buf, pos, e, at, '', t, field);
    } else {
      if (k === K_ID) {
        if (len !== 0 && len !== t.idLength[field])
          throw new FieldError(at, `field ${t.fieldName[field]} (${field}) is ${len} bytes; it must be ${t.idLength[field]} (or empty)`);
      } else if (k === K_PACKED_I64 || k === K_PACKED_I32) {
        const size = k === K_PACKED_I64 ? 8 : 4;
        if (len % size !== 0)
          throw new FieldError(at, `packed field ${t.fieldName[field]} (${field}) is ${len} bytes, not a whole number of ${size}-byte values`);
      } else if (k === K_PACKED_VARINT) {
        for (let p = pos; p < e; p = NEXT) readVarint(buf, p, e);
      }
      // Ids, bytes and packed values are not text.
      if (MASK) zero(buf, pos, e);
    }
    pos = e;
  } else {
    throw wrongWireType(t, field, wt, at);
  }
  return pos;
}
