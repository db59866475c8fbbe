/**
 * The redaction rules of the collector's redaction processor, applied to one attribute list on the wire
 * (an AttrList from src/processorhelper/wire-edit.ts): ignored keys pass, keys not allowed are removed, values of
 * blocked keys are masked whole, matches of blocked value patterns are masked, unless an allowed value
 * pattern matches; then the summary attributes are added.
 */
import nodeCrypto from 'node:crypto';
import { AttrList, ValueType, utf8 } from '../../src/processorhelper/wire-edit.js';
import type { RedactionProcessorConfig } from './config.js';
import { re2RegExp } from '../../src/processorhelper/re2.js';

// The collector's summary attribute names.
export const SUMMARY = {
  redactedKeys: 'redaction.redacted.keys',
  redactedCount: 'redaction.redacted.count',
  maskedKeys: 'redaction.masked.keys',
  maskedCount: 'redaction.masked.count',
  allowedKeys: 'redaction.allowed.keys',
  allowedCount: 'redaction.allowed.count',
  ignoredCount: 'redaction.ignored.count',
  bodyMaskedKeys: 'redaction.body.masked.keys',
  bodyMaskedCount: 'redaction.body.masked.count',
  bodyAllowedKeys: 'redaction.body.allowed.keys',
  bodyAllowedCount: 'redaction.body.allowed.count',
} as const;

// The processor's own summary keys survive a second redaction processor in the chain (the collector
// adds them to the allow list for that reason).
const SUMMARY_KEYS = [...Object.values(SUMMARY), 'redaction.body.redacted.keys', 'redaction.body.redacted.count', 'redaction.body.ignored.count'];

const MASK = '****';
const SEPARATOR = ',';

/**
 * Replaces every match of global regexp `re` in `s` with repl(match), with Go's ReplaceAllStringFunc
 * rule that an empty match right after a previous match is skipped (so `.*` masks "abc" once, not twice).
 */
export function goReplaceAll(s: string, re: RegExp, repl: (m: string) => string): string {
  re.lastIndex = 0;
  let out = '';
  let last = 0;
  let prevEnd = -1;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const start = m.index;
    const len = m[0].length;
    if (len === 0) {
      re.lastIndex++;
      if (start === prevEnd) continue;
    }
    out += s.slice(last, start) + repl(m[0]);
    last = prevEnd = start + len;
    if (re.lastIndex > s.length) break;
  }
  return last === 0 && prevEnd < 0 ? s : out + s.slice(last);
}

/** What one processAttrs call did, for the summary and the counters. */
export interface Tally {
  removed: number;
  masked: number;
}

export class Redactor {
  private readonly allowAll: boolean;
  private readonly allowed: Set<string>;
  private readonly ignored: Set<string>;
  private readonly ignoredPatterns: RegExp[];
  private readonly blockedKeys: RegExp[];
  private readonly blockedValues: RegExp[];
  private readonly allowedValues: RegExp[];
  private readonly allTypes: boolean;
  private readonly summary: 'debug' | 'info' | 'silent';
  private readonly replace: (m: string) => string;
  private readonly maskAll = /.*/g;
  // Scratch lists reused across calls.
  private readonly redactedList: string[] = [];
  private readonly maskedList: string[] = [];
  private readonly allowedList: string[] = [];
  private ignoredN = 0;
  private readonly summaryKeys = new Map<string, Uint8Array>();

  constructor(config: RedactionProcessorConfig) {
    this.allowAll = config.allow_all_keys;
    this.allowed = new Set([...config.allowed_keys, ...SUMMARY_KEYS]);
    this.ignored = new Set(config.ignored_keys);
    this.ignoredPatterns = config.ignored_key_patterns.map((p) => re2RegExp(p));
    this.blockedKeys = config.blocked_key_patterns.map((p) => re2RegExp(p));
    this.blockedValues = config.blocked_values.map((p) => re2RegExp(p, 'g'));
    this.allowedValues = config.allowed_values.map((p) => re2RegExp(p));
    this.allTypes = config.redact_all_types;
    this.summary = config.summary;
    const alg = { none: undefined, md5: 'md5', sha1: 'sha1', sha3: 'sha3-256' }[config.hash_function];
    this.replace = alg ? (m) => nodeCrypto.createHash(alg).update(m, 'utf8').digest('hex') : () => MASK;
    for (const k of SUMMARY_KEYS) this.summaryKeys.set(k, utf8(k));
  }

  /** Whether any rule can change anything (else requests pass without a walk). */
  get active(): boolean {
    return !this.allowAll || this.blockedKeys.length > 0 || this.blockedValues.length > 0;
  }

  private isIgnored(k: string): boolean {
    if (this.ignored.has(k)) return true;
    for (const re of this.ignoredPatterns) if (re.test(k)) return true;
    return false;
  }

  private isBlockedKey(k: string): boolean {
    for (const re of this.blockedKeys) if (re.test(k)) return true;
    return false;
  }

  isAllowedValue(v: string): boolean {
    for (const re of this.allowedValues) if (re.test(v)) return true;
    return false;
  }

  /** Masks the matches of each blocked value pattern in turn (a later pattern sees earlier masks). */
  maskBlocked(v: string): string {
    for (const re of this.blockedValues) {
      re.lastIndex = 0;
      if (re.test(v)) v = goReplaceAll(v, re, this.replace);
    }
    return v;
  }

  /** Applies the rules to one loaded attribute list; `tally` accumulates what was removed and masked. */
  processAttrs(a: AttrList, tally: Tally): void {
    const redacted = this.redactedList;
    const masked = this.maskedList;
    const allowedVals = this.allowedList;
    redacted.length = masked.length = allowedVals.length = 0;
    this.ignoredN = 0;
    const n = a.length;
    for (let i = 0; i < n; i++) {
      if (a.removed(i)) continue;
      const k = a.key(i);
      if (this.isIgnored(k)) {
        this.ignoredN++;
        continue;
      }
      if (!this.allowAll && !this.allowed.has(k)) {
        redacted.push(k);
        a.remove(i);
        continue;
      }
      const t = a.type(i);
      const blockedKey = this.isBlockedKey(k);
      // Non-string values are looked at only with redact_all_types (their string form), except that a
      // blocked key's value is masked whatever its type.
      const checkValue = t === ValueType.String || this.allTypes;
      if (!checkValue && !blockedKey) continue;
      const v = t === ValueType.String ? a.str(i) : this.allTypes ? a.asString(i) : '';
      if (checkValue && this.isAllowedValue(v)) {
        allowedVals.push(k);
        continue;
      }
      if (blockedKey) {
        masked.push(k);
        a.setString(i, goReplaceAll(v, this.maskAll, this.replace));
        continue;
      }
      const out = this.maskBlocked(v);
      if (out !== v) {
        masked.push(k);
        a.setString(i, out);
      }
    }
    tally.removed += redacted.length;
    tally.masked += masked.length;
    if (this.summary === 'silent') return;
    this.addSummary(a, redacted, SUMMARY.redactedKeys, SUMMARY.redactedCount);
    this.addSummary(a, masked, SUMMARY.maskedKeys, SUMMARY.maskedCount);
    this.addSummary(a, allowedVals, SUMMARY.allowedKeys, SUMMARY.allowedCount);
    if (this.ignoredN > 0) this.addCount(a, SUMMARY.ignoredCount, this.ignoredN);
  }

  /** Adds summary attributes for `keys` (debug: sorted key list merged with one already there; info/debug: count). */
  addSummary(a: AttrList, keys: string[], keysAttr: string, countAttr: string): void {
    if (keys.length === 0 || this.summary === 'silent') return;
    if (this.summary === 'debug') {
      const kb = this.summaryKeys.get(keysAttr)!;
      const i = a.indexOf(kb);
      const all = i >= 0 && a.type(i) === ValueType.String && a.str(i) !== '' ? [...keys, ...a.str(i).split(SEPARATOR)] : [...keys];
      all.sort();
      if (i >= 0) a.setString(i, all.join(SEPARATOR));
      else a.appendString(kb, all.join(SEPARATOR));
    }
    this.addCount(a, countAttr, keys.length);
  }

  private addCount(a: AttrList, countAttr: string, n: number): void {
    const kb = this.summaryKeys.get(countAttr)!;
    const i = a.indexOf(kb);
    if (i >= 0) a.setInt(i, (a.type(i) === ValueType.Int ? a.int(i) : 0n) + BigInt(n));
    else a.setInt(a.append(kb, EMPTY_VALUE), BigInt(n));
  }
}

const EMPTY_VALUE = new Uint8Array(0);
