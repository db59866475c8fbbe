/**
 * A small config schema language: each component's config is declared once, and from that declaration
 * come its defaults, its validation (every problem with its key path, unknown keys included) and its
 * entry in the generated configuration reference.
 */

export interface ConfigIssue {
  /** Key path below the component (e.g. ['protocols', 'http', 'endpoint']). */
  path: string[];
  message: string;
}

/** What the reference docs show of a key. */
export interface SchemaDoc {
  type: string;
  default?: unknown;
  description?: string;
  fields?: Record<string, SchemaDoc>;
  values?: readonly string[];
  items?: SchemaDoc;
  /** The key must be set (no default stands in for it). */
  required?: boolean;
  /** A secret (token, password, private key): masked in print-config and never echoed in errors. */
  opaque?: boolean;
}

/** What print-config shows in place of a secret, as the collector's configopaque. */
export const REDACTED = '[REDACTED]';
/** scheme://userinfo@ at the start of a URL (group 1: scheme://, group 2: the userinfo). */
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/i;

/**
 * A URL as config output, logs and errors may show it: the password of `user:password@` masked, and a lone
 * `token@` (NATS's token in a server URL) masked whole. Anything else is returned as it is.
 */
export function maskUrlCredentials(url: string): string {
  return url.replace(URL_USERINFO, (_all, scheme: string, info: string) => {
    const colon = info.indexOf(':');
    return `${scheme}${colon >= 0 ? info.slice(0, colon + 1) : ''}${REDACTED}@`;
  });
}

export abstract class Schema<T> {
  protected description: string | undefined;
  /** The default used when the key is absent; `undefined` means the key is optional with no value. */
  protected defaultValue: T | undefined;
  protected required = false;
  protected isOpaque = false;

  /** Validates `value` (undefined when the key is absent), pushing problems into `issues`. */
  parse(value: unknown, path: string[], issues: ConfigIssue[]): T {
    if (value === undefined || value === null) {
      if (this.required) issues.push({ path, message: 'is required' });
      return this.defaultValue as T;
    }
    return this.check(value, path, issues);
  }

  protected abstract check(value: unknown, path: string[], issues: ConfigIssue[]): T;
  abstract doc(): SchemaDoc;

  describe(text: string): this {
    this.description = text;
    return this;
  }

  default(value: T): this {
    this.defaultValue = value;
    return this;
  }

  mustBeSet(): this {
    this.required = true;
    return this;
  }

  /** Marks the value a secret, as the collector's configopaque.String. */
  opaque(): this {
    this.isOpaque = true;
    return this;
  }

  /**
   * A copy of a raw config value with every secret this schema marks replaced by [REDACTED] (what
   * print-config shows). Values the schema does not know are left as they are.
   */
  mask(value: unknown): unknown {
    if (this.isOpaque && value !== undefined && value !== null && value !== '') return REDACTED;
    // A URL's password (scheme://user:password@host), in an endpoint or a server list, is a secret too.
    if (typeof value === 'string' && URL_USERINFO.test(value)) return maskUrlCredentials(value);
    return value;
  }

  /** The config this schema yields for an absent or empty section. */
  defaults(): T {
    return this.parse(undefined, [], []);
  }

  protected baseDoc(type: string): SchemaDoc {
    const d: SchemaDoc = { type };
    if (this.defaultValue !== undefined) d.default = this.defaultValue;
    if (this.description) d.description = this.description;
    if (this.required) d.required = true;
    if (this.isOpaque) d.opaque = true;
    return d;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

class StringSchema extends Schema<string> {
  constructor(
    private readonly pattern?: RegExp,
    private readonly patternHint?: string,
  ) {
    super();
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): string {
    if (typeof v === 'number' || typeof v === 'boolean') {
      // YAML read it as a number (min_version: 1.0 is 1): checked as the text it became, so it is not lost.
      const text = String(v);
      if (this.pattern && !this.pattern.test(text)) {
        issues.push({ path, message: `"${text}" is not ${this.patternHint}` });
      }
      return text;
    }
    if (typeof v !== 'string') {
      issues.push({ path, message: `expected a string, got ${this.isOpaque ? 'something else' : typeName(v)}` });
      return this.defaultValue as string;
    }
    if (this.pattern && !this.pattern.test(v))
      issues.push({ path, message: `${this.isOpaque ? 'the value' : `"${String(this.mask(v))}"`} is not ${this.patternHint}` });
    return v;
  }
  doc(): SchemaDoc {
    return this.baseDoc('string');
  }
}

class NumberSchema extends Schema<number> {
  constructor(
    private readonly integer: boolean,
    private readonly min?: number,
    private readonly max?: number,
  ) {
    super();
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): number {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || Number.isNaN(n) || (this.integer && !Number.isInteger(n))) {
      issues.push({ path, message: `expected ${this.integer ? 'an integer' : 'a number'}, got ${typeName(v)}` });
      return this.defaultValue as number;
    }
    if (this.min !== undefined && n < this.min) issues.push({ path, message: `must be at least ${this.min}, got ${n}` });
    if (this.max !== undefined && n > this.max) issues.push({ path, message: `must be at most ${this.max}, got ${n}` });
    return n;
  }
  doc(): SchemaDoc {
    return this.baseDoc(this.integer ? 'int' : 'number');
  }
}

class BoolSchema extends Schema<boolean> {
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): boolean {
    if (typeof v === 'boolean') return v;
    // Text from an env variable or --set (YAML's True/TRUE too).
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    issues.push({ path, message: `expected true or false, got ${typeName(v)}` });
    return this.defaultValue as boolean;
  }
  doc(): SchemaDoc {
    return this.baseDoc('bool');
  }
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration in the collector's (Go's) form, e.g. `200ms`, `5s`, `1m30s`; returns milliseconds. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

/**
 * A duration, given in config as `200ms`, `5s`, `1m`; yields milliseconds. A bare integer is nanoseconds,
 * as the collector's confmap decodes an int into a Go time.Duration (`flush_interval: 5` is 5ns, not 5s).
 */
class DurationSchema extends Schema<number> {
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): number {
    const ms = typeof v === 'string' ? (parseDuration(v) ?? nanosText(v)) : typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v / 1e6 : undefined;
    if (ms === undefined) {
      issues.push({ path, message: `expected a duration such as 200ms, 5s or 1m, got ${typeName(v)}` });
      return this.defaultValue as number;
    }
    return ms;
  }
  doc(): SchemaDoc {
    const d = this.baseDoc('duration');
    if (typeof this.defaultValue === 'number') d.default = formatDuration(this.defaultValue);
    return d;
  }
}

/** An integer given as text (an env variable, `--set`): nanoseconds, as a YAML integer would be. */
function nanosText(text: string): number | undefined {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) / 1e6 : undefined;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

class EnumSchema<T extends string> extends Schema<T> {
  private readonly aliases = new Map<string, T>();
  /** Values the collector takes that GopherShip does not implement yet, with what they do there. */
  private readonly notYetValues = new Map<string, string>();
  constructor(private readonly values: readonly T[]) {
    super();
  }
  /** Answers `value` with "not supported yet by GopherShip (what)" instead of listing the valid values. */
  notYetValue(value: string, what: string): this {
    this.notYetValues.set(value, what);
    return this;
  }
  /** Accepts `from` as another spelling of `to` (the collector's compression "" is none). */
  alias(from: string, to: T): this {
    this.aliases.set(from, to);
    return this;
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): T {
    if (typeof v === 'string' && (this.values as readonly string[]).includes(v)) return v as T;
    if (typeof v === 'string' && this.aliases.has(v)) return this.aliases.get(v)!;
    if (typeof v === 'string' && this.notYetValues.has(v)) {
      issues.push({ path, message: `"${v}": ${notSupportedYetMessage(this.notYetValues.get(v)!)}` });
      return this.defaultValue as T;
    }
    issues.push({ path, message: `must be one of ${this.values.join(', ')}; got ${typeName(v)}` });
    return this.defaultValue as T;
  }
  doc(): SchemaDoc {
    return { ...this.baseDoc('enum'), values: this.values };
  }
}

type Shape = Record<string, Schema<any>>;
type Infer<S extends Shape> = { [K in keyof S]: S[K] extends Schema<infer T> ? T : never };

class ObjectSchema<S extends Shape> extends Schema<Infer<S>> {
  constructor(readonly shape: S) {
    super();
  }
  override parse(value: unknown, path: string[], issues: ConfigIssue[]): Infer<S> {
    // An absent section yields its defaults, as the collector's does.
    if (value === undefined || value === null) {
      if (this.required) issues.push({ path, message: 'is required' });
      if (this.defaultValue !== undefined) return this.defaultValue;
      return this.check({}, path, issues);
    }
    return this.check(value, path, issues);
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): Infer<S> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path, message: `expected a map, got ${typeName(v)}` });
      return this.check({}, path, []);
    }
    const input = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(input)) {
      if (!(key in this.shape)) issues.push({ path: [...path, key], message: unknownKeyMessage(key, Object.keys(this.shape)) });
    }
    for (const [key, schema] of Object.entries(this.shape)) {
      out[key] = schema.parse(input[key], [...path, key], issues);
    }
    return out as Infer<S>;
  }
  override mask(value: unknown): unknown {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return super.mask(value);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = k in this.shape ? this.shape[k]!.mask(v) : v;
    return out;
  }
  doc(): SchemaDoc {
    const fields: Record<string, SchemaDoc> = {};
    for (const [k, s] of Object.entries(this.shape)) fields[k] = s.doc();
    const d: SchemaDoc = { type: 'map', fields };
    if (this.description) d.description = this.description;
    return d;
  }
}

class MapSchema<T> extends Schema<Record<string, T>> {
  constructor(
    private readonly valueSchema: Schema<T>,
    /** Also take a list of `{name, value}` pairs, as the collector's configopaque.MapList (headers). */
    private readonly pairs = false,
  ) {
    super();
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): Record<string, T> {
    if (this.pairs && Array.isArray(v)) return this.checkPairs(v, path, issues);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path, message: `expected a map${this.pairs ? ' or a list of name/value pairs' : ''}, got ${typeName(v)}` });
      return {};
    }
    const out: Record<string, T> = {};
    for (const [k, val] of Object.entries(v)) out[k] = this.valueSchema.parse(val, [...path, k], issues);
    return out;
  }
  private checkPairs(list: unknown[], path: string[], issues: ConfigIssue[]): Record<string, T> {
    const out: Record<string, T> = {};
    list.forEach((item, i) => {
      const at = [...path, String(i)];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        issues.push({ path: at, message: `expected a map with name and value, got ${typeName(item)}` });
        return;
      }
      const pair = item as Record<string, unknown>;
      for (const key of Object.keys(pair)) {
        if (key !== 'name' && key !== 'value') issues.push({ path: [...at, key], message: unknownKeyMessage(key, ['name', 'value']) });
      }
      if (typeof pair.name !== 'string' || pair.name === '') {
        issues.push({ path: [...at, 'name'], message: 'is required (the header name)' });
        return;
      }
      // The collector checks that pairs have distinct names.
      if (pair.name in out) issues.push({ path: [...at, 'name'], message: `"${pair.name}" is listed twice` });
      out[pair.name] = this.valueSchema.parse(pair.value ?? '', [...at, 'value'], issues);
    });
    return out;
  }
  override mask(value: unknown): unknown {
    if (this.pairs && Array.isArray(value)) {
      return value.map((p) =>
        typeof p === 'object' && p !== null && 'value' in p ? { ...p, value: this.valueSchema.mask((p as { value: unknown }).value) } : p,
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return super.mask(value);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.valueSchema.mask(v);
    return out;
  }
  doc(): SchemaDoc {
    return { ...this.baseDoc('map'), items: this.valueSchema.doc() };
  }
}

/**
 * A lone string where the collector's config has a list of strings, as its confmap decodes it (mapstructure's
 * string-to-slice hook): split at every comma, spaces kept; '' is no items.
 */
export function collectorStringList(text: string): string[] {
  return text === '' ? [] : text.split(',');
}

class ArraySchema<T> extends Schema<T[]> {
  constructor(private readonly itemSchema: Schema<T>) {
    super();
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): T[] {
    // The collector's confmap turns a lone string into a list: split at commas for a list of strings
    // (`detectors: env,system`, often from one environment variable), one item otherwise; '' into none.
    if (typeof v === 'string') {
      const texts = ['string', 'enum'].includes(this.itemSchema.doc().type) ? collectorStringList(v) : v === '' ? [] : [v];
      return texts.map((text, i) => this.itemSchema.parse(text, [...path, String(i)], issues));
    }
    if (!Array.isArray(v)) {
      issues.push({ path, message: `expected a list, got ${typeName(v)}` });
      return [];
    }
    return v.map((item, i) => this.itemSchema.parse(item, [...path, String(i)], issues));
  }
  override mask(value: unknown): unknown {
    return Array.isArray(value) ? value.map((v) => this.itemSchema.mask(v)) : super.mask(value);
  }
  doc(): SchemaDoc {
    return { ...this.baseDoc('list'), items: this.itemSchema.doc() };
  }
}

/** Runs a further check on a parsed value (cross-field rules); the check pushes issues itself. */
class RefinedSchema<T> extends Schema<T> {
  constructor(
    private readonly inner: Schema<T>,
    private readonly rule: (v: T, path: string[], issues: ConfigIssue[]) => void,
  ) {
    super();
  }
  override parse(value: unknown, path: string[], issues: ConfigIssue[]): T {
    const before = issues.length;
    const out = this.inner.parse(value, path, issues);
    if (issues.length === before) this.rule(out, path, issues);
    return out;
  }
  protected check(): T {
    throw new Error('unreachable');
  }
  override mask(value: unknown): unknown {
    return this.inner.mask(value);
  }
  doc(): SchemaDoc {
    return this.inner.doc();
  }
}

/** Maps a parsed value to the form the code uses (a URL path gets its leading '/'). */
class TransformSchema<T> extends Schema<T> {
  constructor(
    private readonly inner: Schema<T>,
    private readonly fn: (v: T) => T,
  ) {
    super();
  }
  override parse(value: unknown, path: string[], issues: ConfigIssue[]): T {
    const out = this.inner.parse(value, path, issues);
    return out === undefined ? out : this.fn(out);
  }
  protected check(): T {
    throw new Error('unreachable');
  }
  override mask(value: unknown): unknown {
    return this.inner.mask(value);
  }
  doc(): SchemaDoc {
    return this.inner.doc();
  }
}

/**
 * A section whose presence means something (the collector enables an OTLP protocol by its key): absent
 * yields `undefined`, an empty (null) value yields the inner defaults.
 */
class PresenceSchema<T> extends Schema<T | undefined> {
  constructor(private readonly inner: Schema<T>) {
    super();
  }
  override parse(value: unknown, path: string[], issues: ConfigIssue[]): T | undefined {
    if (value === undefined) return undefined;
    return this.inner.parse(value, path, issues);
  }
  protected check(): T | undefined {
    throw new Error('unreachable');
  }
  override mask(value: unknown): unknown {
    return this.inner.mask(value);
  }
  doc(): SchemaDoc {
    const d = { ...this.inner.doc() };
    if (this.description) d.description = this.description;
    return d;
  }
}

/**
 * A key the collector documents that GopherShip does not implement yet. Absent, it is nothing; set, it is
 * refused with what it does in the collector, so a user can tell a missing feature from a typo. Values
 * listed as `neutral` (the collector's own default, say `false`) behave the same here and are accepted.
 */
class NotYetSchema extends Schema<undefined> {
  constructor(
    readonly what: string,
    private readonly neutral: readonly unknown[],
  ) {
    super();
  }
  protected check(v: unknown, path: string[], issues: ConfigIssue[]): undefined {
    if (!this.isNeutral(v)) issues.push({ path, message: notSupportedYetMessage(this.what) });
    return undefined;
  }
  /**
   * The listed values, a zero duration where 0 is listed, and '' or [] (an unset value, as configs write it).
   * A section listed as `{enabled: false}` is off whatever else it holds: the collector's README writes the
   * section's defaults beside `enabled: false` (health_check's check_collector_pipeline interval, threshold).
   */
  private isNeutral(v: unknown): boolean {
    if (v === '' || (Array.isArray(v) && v.length === 0)) return true;
    const off = (x: unknown) => typeof x === 'object' && x !== null && (x as { enabled?: unknown }).enabled === false;
    if (off(v) && this.neutral.some(off)) return true;
    return this.neutral.some(
      (n) => n === v || (n === 0 && typeof v === 'string' && parseDuration(v) === 0) || (typeof n === 'object' && JSON.stringify(n) === JSON.stringify(v)),
    );
  }
  doc(): SchemaDoc {
    return { type: 'not supported yet', description: this.what };
  }
}

export const NOT_SUPPORTED_YET = 'not supported yet by GopherShip';
export const notSupportedYetMessage = (what: string): string => `${NOT_SUPPORTED_YET} (${what})`;

/** Edit distance (insert, delete, substitute, swap of neighbours): how far a typo is from a key. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name nearest to `name`, when it is near enough to be a typo of it. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = editDistance(name.toLowerCase(), k.toLowerCase());
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/** `unknown key; did you mean "x"?` for a near miss, else the keys valid here. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = nearestName(key, known);
  return near ? `unknown key; did you mean "${near}"?` : `unknown key; valid keys here: ${known.join(', ') || '(none)'}`;
}

export const s = {
  string: (pattern?: RegExp, hint?: string) => new StringSchema(pattern, hint),
  int: (min?: number, max?: number) => new NumberSchema(true, min, max),
  number: (min?: number, max?: number) => new NumberSchema(false, min, max),
  bool: () => new BoolSchema(),
  duration: () => new DurationSchema(),
  enum: <T extends string>(...values: T[]) => new EnumSchema<T>(values),
  object: <S extends Shape>(shape: S) => new ObjectSchema<S>(shape),
  map: <T>(value: Schema<T>) => new MapSchema<T>(value),
  /** Headers as the collector takes them (configopaque.MapList): a map, or a list of `{name, value}` pairs. */
  headerMap: <T>(value: Schema<T>) => new MapSchema<T>(value, true),
  array: <T>(item: Schema<T>) => new ArraySchema<T>(item),
  presence: <T>(inner: Schema<T>) => new PresenceSchema<T>(inner),
  refine: <T>(inner: Schema<T>, rule: (v: T, path: string[], issues: ConfigIssue[]) => void) => new RefinedSchema<T>(inner, rule),
  transform: <T>(inner: Schema<T>, fn: (v: T) => T) => new TransformSchema<T>(inner, fn),
  /** A URL path; one written without its leading '/' gets it, as the collector adds it. */
  urlPath: (defaultPath: string, description: string) =>
    new TransformSchema(s.string().default(defaultPath).describe(description), (v) => (v.startsWith('/') ? v : `/${v}`)),
  /** A collector key not implemented yet: `what` says what it does there; `neutral` values are accepted. */
  notYet: (what: string, ...neutral: unknown[]) => new NotYetSchema(what, neutral),
};

/** Several collector keys not implemented yet, to spread into an object shape: `{ key: what it does }`. */
export function notYetKeys<K extends string>(keys: Record<K, string>): Record<K, NotYetSchema> {
  const out = {} as Record<K, NotYetSchema>;
  for (const [k, what] of Object.entries(keys) as Array<[K, string]>) out[k] = new NotYetSchema(what, []);
  return out;
}

export type ConfigOf<S> = S extends Schema<infer T> ? T : never;
