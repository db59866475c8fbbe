/**
 * Loads the collector-format YAML config: several files merged in order (maps merge, lists replace),
 * `--set` overrides, and `${env:VAR}` / `${env:VAR:-default}` / `${VAR}` / `$$` expansion. Keeps, for each
 * key path, the file and line it came from so validation can point at it.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parse as parseYaml, parseDocument, type Document, type Node } from 'yaml';

export type RawConfig = Record<string, unknown>;

export interface SourceLocation {
  file: string;
  line?: number;
}

export interface LoadedConfig {
  raw: RawConfig;
  /** key path joined by '\0' -> where it was last set. */
  locations: Map<string, SourceLocation>;
  /** Problems found while reading (unreadable file, YAML syntax, bad --set). */
  problems: ConfigProblem[];
  /** Worth saying but not wrong (a referenced env variable that is not set), with file:line. */
  warnings: ConfigProblem[];
  /** The text of every config file read, by its path as given (what the worker processes are handed). */
  files?: Record<string, string>;
}

export interface ConfigProblem {
  file?: string;
  line?: number;
  path: string[];
  message: string;
}

/** What reading a config found: problems (it is invalid) and warnings (worth saying). */
interface Found {
  problems: ConfigProblem[];
  warnings: ConfigProblem[];
}

export const pathKey = (path: readonly string[]): string => path.join('\0');

/** Formats a key path the way users write it: `receivers.otlp.protocols.http.endpoint`. */
export function formatPath(path: readonly string[]): string {
  return path.join('.');
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  const key = p.path.length ? `${formatPath(p.path)}: ` : '';
  return `${where}${key}${p.message}`;
}

/**
 * What a value's `$` can start, in order: `$$` (a literal `$`), `${file:path}`, `${env:NAME}` / `${NAME}`
 * with an optional `:-default`, any other `${...}` (reported by expandEnv: the collector refuses it), and a
 * bare `$NAME`, which the collector leaves as text (since v0.107.0).
 */
const ENV_REF = /\$\$|\$\{file:([^}]+)\}|\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
/** A `${scheme:...}` reference of a config provider other than env and file (yaml, http, ...). */
const OTHER_PROVIDER = /\$\{([a-z][a-z0-9+.-]*):(?!-)/g;
const OTHER_PROVIDER_URI = /^[a-z][a-z0-9+.-]*:(?!-)/;

/**
 * Why the collector refuses `${inner}`, a reference none of the forms it expands matches, and what to
 * write instead; undefined for another provider's URI, which expandEnv reports on its own.
 */
function badReferenceMessage(inner: string): string | undefined {
  const ref = `\${${inner}}`;
  const env = /^env:([A-Za-z_][A-Za-z0-9_]*):(.*)$/s.exec(inner);
  if (env) return `"${ref}" is not a reference the collector expands: a default follows ":-", as in \${env:${env[1]}:-${env[2]}}`;
  if (inner.startsWith('env:')) return `"${ref}" is not a reference the collector expands: "${inner.slice(4)}" is not an environment variable name`;
  if (OTHER_PROVIDER_URI.test(inner)) return undefined;
  const named = /^([A-Za-z_][A-Za-z0-9_]*):-?(.*)$/s.exec(inner);
  if (named?.[1]!.toLowerCase() === 'env') return `"${ref}" is not a reference the collector expands: the provider is env, in lower case (\${env:${named[2]}})`;
  if (named)
    return `"${ref}" is not a reference the collector expands: it reads "${named[1]}" as a config provider and refuses it; for an environment variable with a default write \${env:${named[1]}:-${named[2]}}`;
  return `"${ref}" is not a reference the collector expands: "${inner}" is not an environment variable name (write $$ for a literal $)`;
}

const bareVariableMessage = (name: string) =>
  `"$${name}" stays text, not the environment variable ${name} (which is set): the collector stopped expanding $VAR in v0.107.0; write \${env:${name}} to read it, or $$${name} for the text`;
const WHOLE_FILE_REF = /^\$\{file:([^}]+)\}$/;

/**
 * The value of a `${file:path}` reference, as the collector's file provider gives it: the file's content
 * read as YAML (a number stays a number, a map a map); a path is relative to the working directory.
 */
function readFileRef(path: string, report: (message: string) => void): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    report(`\${file:${path}}: cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    // As if the key were absent: the problem is the file, not a value the key would then also refuse.
    return null;
  }
  try {
    return parseYaml(text) ?? '';
  } catch {
    return text.replace(/\r?\n$/, '');
  }
}

/** Inside a longer string an unset variable reads as empty text. */
const unsetMessage = (name: string) => `environment variable ${name} is not set: the value is empty (give a default with \${env:${name}:-default})`;
/** A whole value that is one unset or empty variable is no value at all: the key keeps its default. */
const noValueMessage = (name: string, why: 'not set' | 'set but empty') =>
  `environment variable ${name} is ${why}: the key takes its default, as if it were not written (give a value with \${env:${name}:-value})`;

/**
 * The YAML type of a value given as text (an env variable, a `--set` value) when that type holds the text
 * exactly: `4318` -> 4318, `true` -> true. Text a YAML reading would change or drop (`0123`, `1e3`, `0x1F`,
 * `1.50`, `#token`, `null`) stays the text as written: a string key gets it unchanged (as the collector's
 * confmap keeps the original string for string fields), and number and bool keys read such text themselves.
 */
function typedScalar(text: string): unknown {
  try {
    const parsed: unknown = parseYaml(text, { logLevel: 'silent' });
    if ((typeof parsed === 'number' || typeof parsed === 'boolean') && String(parsed) === text) return parsed;
  } catch {
    /* not YAML: the text itself */
  }
  return text;
}

/**
 * Expands env references in one string. A value that is exactly one reference takes the variable's type
 * when the type holds its text exactly (typedScalar), so `${env:PORT}` can be an int. References the
 * gateway cannot expand (another provider such as `${http:...}`, a reference nested in a default) are
 * reported through `report` and left as written.
 */
export function expandEnv(
  text: string,
  env: NodeJS.ProcessEnv,
  report: (message: string) => void = () => {},
  warn: (message: string) => void = () => {},
): unknown {
  if (!text.includes('$')) return text;
  for (const m of text.matchAll(OTHER_PROVIDER)) {
    if (m[1] !== 'env' && m[1] !== 'file')
      report(
        `"\${${m[1]}:...}" is not supported yet by GopherShip: only \${env:VAR}, \${env:VAR:-default}, \${VAR} and \${file:path} are expanded (write $$ for a literal $)`,
      );
  }
  const wholeFile = WHOLE_FILE_REF.exec(text);
  if (wholeFile) return readFileRef(wholeFile[1]!, report);
  const whole = /^\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(text);
  if (whole) {
    const [, name, def] = whole as unknown as [string, string, string | undefined];
    const v = env[name];
    // As the collector's env provider reads the variable as YAML: an unset one without a default, or an
    // empty one, is null (no value: the key's default applies, where "" would be refused as an endpoint, a
    // level or a duration); only an empty default written out (`:-`) is the empty string.
    if (v === undefined && def === undefined) {
      warn(noValueMessage(name, 'not set'));
      return null;
    }
    if (v === '') {
      warn(noValueMessage(name, 'set but empty'));
      return null;
    }
    const text = v ?? def!;
    return text === '' ? text : typedScalar(text);
  }
  return text.replace(ENV_REF, (m, filePath: string | undefined, name: string | undefined, def: string | undefined, other?: string, bare?: string) => {
    if (m === '$$') return '$';
    if (other !== undefined) {
      const message = badReferenceMessage(other);
      if (message) report(message);
      return m;
    }
    if (bare !== undefined) {
      if (env[bare] !== undefined) warn(bareVariableMessage(bare));
      return m;
    }
    if (filePath !== undefined) {
      const v = readFileRef(filePath, report);
      if (v === null) return '';
      if (typeof v === 'object') {
        report(`\${file:${filePath}} holds a YAML map or list: inside a longer string it must hold a single value`);
        return '';
      }
      return String(v);
    }
    if (def?.includes('${')) report(`the default of \${${name}} holds another reference, which is not expanded: ${m}`);
    if (env[name!] === undefined && def === undefined) warn(unsetMessage(name!));
    return env[name!] ?? def ?? '';
  });
}

/** What one file's walk from YAML nodes to plain values needs. */
interface Walk {
  file: string;
  lc: LineCounter;
  locations: Map<string, SourceLocation>;
  env: NodeJS.ProcessEnv;
  found: Found;
  doc: Document;
  /** Aliases expanded so far: bounded, so a document of aliases of aliases cannot grow without end. */
  aliases: number;
}

/** As the yaml library's own default for toJS (maxAliasCount): plenty for configs, far from a blow-up. */
const MAX_ALIAS_EXPANSIONS = 100;

/**
 * The node an alias (`*name`) stands for, counted against the walk's bound; null (with a problem) when
 * it names no anchor or the bound is passed.
 */
function resolveAlias(node: Node, path: string[], w: Walk): Node | null {
  const line = node.range ? w.lc.linePos(node.range[0]).line : undefined;
  if (++w.aliases > MAX_ALIAS_EXPANSIONS) {
    if (w.aliases === MAX_ALIAS_EXPANSIONS + 1)
      w.found.problems.push({
        file: w.file,
        line,
        path,
        message: `more than ${MAX_ALIAS_EXPANSIONS} YAML aliases expanded: write the config out without nesting aliases so deeply`,
      });
    return null;
  }
  const target = isAlias(node) ? (node.resolve(w.doc) as Node | undefined) : undefined;
  if (!target) {
    w.found.problems.push({ file: w.file, line, path, message: `YAML alias ${String(node)} names no anchor defined before it: define it with &name first` });
    return null;
  }
  return target;
}

function toPlain(node: Node | null | undefined, path: string[], w: Walk): unknown {
  if (node && node.range) w.locations.set(pathKey(path), { file: w.file, line: w.lc.linePos(node.range[0]).line });
  if (!node) return null;
  // An alias stands for its anchored node, as the collector's YAML loader reads it.
  if (isAlias(node)) return toPlain(resolveAlias(node, path, w), path, w);
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    const merged: Array<Record<string, unknown>> = [];
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const keyNode = pair.key as Node;
      // A merge key (`<<: *base` or `<<: [*a, *b]`) brings in the keys of the maps it names that this
      // map does not set itself (YAML 1.1 merge, which the collector's loader honours too).
      if (key === '<<' && isScalar(pair.key)) {
        const value = pair.value as Node;
        for (const source of isSeq(value) ? (value.items as Node[]) : [value]) {
          const plain = toPlain(source, path, w);
          if (isPlainObject(plain)) merged.push(plain);
          else
            w.found.problems.push({
              file: w.file,
              line: keyNode.range ? w.lc.linePos(keyNode.range[0]).line : undefined,
              path,
              message: 'a YAML merge key (<<) must name a map or a list of maps',
            });
        }
        continue;
      }
      const childPath = [...path, key];
      out[key] = toPlain(pair.value as Node, childPath, w);
      // The key's own line is the better pointer for a map value (the value may start on the next line).
      if (keyNode?.range) w.locations.set(pathKey(childPath), { file: w.file, line: w.lc.linePos(keyNode.range[0]).line });
    }
    // Earlier sources win over later ones, and the map's own keys over all of them.
    for (const source of merged) for (const [k, v] of Object.entries(source)) if (!(k in out)) out[k] = v;
    return out;
  }
  if (isSeq(node)) return node.items.map((item, i) => toPlain(item as Node, [...path, String(i)], w));
  if (isScalar(node)) {
    if (typeof node.value !== 'string') return node.value;
    if (node.type === 'PLAIN') {
      const separated = underscoredNumber(node.value);
      if (separated !== undefined) return separated;
    }
    const line = node.range ? w.lc.linePos(node.range[0]).line : undefined;
    return expandEnv(
      node.value,
      w.env,
      (message) => w.found.problems.push({ file: w.file, line, path, message }),
      (message) => w.found.warnings.push({ file: w.file, line, path, message }),
    );
  }
  return (node as { toJSON(): unknown }).toJSON();
}

/** A decimal number written with `_` between digits (`100_000`, `1_000.5`): only underscores and digits. */
const UNDERSCORED_NUMBER = /^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$/;

/**
 * The number an unquoted `100_000` stands for in the collector's YAML reader (go-yaml drops every `_` of a
 * plain scalar that starts like a number before reading it as one; YAML 1.2's core schema, ours, reads it
 * as a string). Contrib READMEs write sizes this way (tail_sampling's `sampled_cache_size: 100_000`).
 */
function underscoredNumber(text: string): number | undefined {
  if (!text.includes('_') || !UNDERSCORED_NUMBER.test(text)) return undefined;
  const n = Number(text.replaceAll('_', ''));
  return Number.isFinite(n) ? n : undefined;
}

/** Deep merge: maps merge key by key, anything else (lists included) is replaced. */
export function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(source)) {
    const cur = target[k];
    if (isPlainObject(cur) && isPlainObject(v)) mergeInto(cur, v);
    else target[k] = v;
  }
  return target;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const keyText = (key: unknown): string => (isScalar(key) ? String(key.value) : String(key));

/**
 * The key path of the repeated key whose node starts at `pos` (where the YAML parser reports a
 * DUPLICATE_KEY), and the line of its first occurrence in the same map.
 */
function findDuplicateKey(node: Node | null | undefined, pos: number, path: string[], lc: LineCounter): { path: string[]; firstLine?: number } | undefined {
  const children: Array<[string, Node | null | undefined]> = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (key?.range?.[0] === pos) {
        const name = keyText(key);
        const first = node.items.find((p) => keyText(p.key) === name)?.key as Node | null | undefined;
        return { path: [...path, name], firstLine: first?.range ? lc.linePos(first.range[0]).line : undefined };
      }
      children.push([keyText(key), pair.value as Node]);
    }
  } else if (isSeq(node)) node.items.forEach((item, i) => children.push([String(i), item as Node]));
  for (const [name, child] of children) {
    if (child?.range && pos >= child.range[0] && pos < child.range[2]) return findDuplicateKey(child, pos, [...path, name], lc);
  }
  return undefined;
}

/** Where a quoted scalar that starts at `from` on `line` ends on it, or -1 when it goes on to the next line. */
function quoteEnd(line: string, from: number): number {
  const q = line[from]!;
  for (let i = from + 1; i < line.length; i++) {
    if (line[i] === '\\' && q === '"') i++;
    else if (line[i] === q) {
      if (q === "'" && line[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

/**
 * The text with the continuation lines of multi-line quoted values indented past their key, where they sat
 * at or left of it. Go's YAML reader (the collector's) takes such a value, which the collector's own testdata
 * writes (`span: '` then the condition on lines at the key's indentation); the yaml library refuses it.
 * Leading spaces of a quoted value's continuation lines are folded away, so the value is unchanged, and
 * lines keep their numbers. Block scalars (`|`, `>`) are left alone.
 */
export function indentQuotedContinuations(text: string): string {
  const lines = text.split('\n');
  let open: { quote: string; indent: number } | undefined;
  let block: number | undefined;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const lead = line.length - line.trimStart().length;
    if (open) {
      if (line.trim() !== '' && lead <= open.indent) lines[n] = ' '.repeat(open.indent + 2) + line.trimStart();
      // The value goes on until its closing quote (the rest of that line is taken as it is).
      if (quoteEnd(`${open.quote}${line}`, 0) >= 0) open = undefined;
      continue;
    }
    if (block !== undefined) {
      if (line.trim() === '' || lead > block) continue;
      block = undefined;
    }
    // The column the value's lines must pass: its key's, past any `- ` of list items; for a list item that is
    // the quoted value itself, its dash's.
    const dashes = /^(?:-\s+)*/.exec(line.slice(lead))![0];
    const keyColumn = lead + dashes.length;
    const itemColumn = lead + dashes.lastIndexOf('-');
    for (let i = lead; i < line.length; i++) {
      const c = line[i]!;
      if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) break;
      if (c !== "'" && c !== '"') continue;
      // A quote starts a scalar only where a value or item begins.
      if (!/(^|[:[{,-])\s*$/.test(line.slice(lead, i))) continue;
      const end = quoteEnd(line, i);
      if (end < 0) {
        open = { quote: c, indent: i === keyColumn && dashes !== '' ? itemColumn : keyColumn };
        break;
      }
      i = end;
    }
    if (!open && /:\s*[|>][-+0-9]*\s*(#.*)?$/.test(line)) block = lead;
  }
  return lines.join('\n');
}

/** Parses one YAML text; problems carry the file and line. */
export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv, locations: Map<string, SourceLocation>, found: Found): RawConfig {
  const problems = found.problems;
  let lc = new LineCounter();
  // YAML's own warnings (an unknown tag, say) become config warnings with their line, not Node
  // process warnings printed raw on stderr.
  const parse = (source: string, counter: LineCounter) => parseDocument(source, { lineCounter: counter, uniqueKeys: true, logLevel: 'silent' });
  let doc = parse(text, lc);
  if (doc.errors.some((e) => e.code === 'MISSING_CHAR')) {
    // A quoted value continued at its key's indentation, which Go's YAML reader takes: read it that way.
    const indented = indentQuotedContinuations(text);
    const retryLc = new LineCounter();
    const retry = indented === text ? undefined : parse(indented, retryLc);
    if (retry && retry.errors.length === 0) [doc, lc] = [retry, retryLc];
  }
  for (const w of doc.warnings) found.warnings.push({ file, line: lc.linePos(w.pos[0]).line, path: [], message: `YAML: ${w.message.split('\n')[0]}` });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const line = lc.linePos(e.pos[0]).line;
      const dup = e.code === 'DUPLICATE_KEY' ? findDuplicateKey(doc.contents as Node, e.pos[0], [], lc) : undefined;
      if (dup) {
        const first = dup.firstLine === undefined ? '' : ` (first at line ${dup.firstLine})`;
        problems.push({ file, line, path: dup.path, message: `key given twice in the same map${first}: remove one of them (YAML keys must be unique)` });
      } else problems.push({ file, line, path: [], message: `YAML syntax error: ${e.message.split('\n')[0]}` });
    }
    return {};
  }
  const plain = toPlain(doc.contents as Node, [], { file, lc, locations, env, found, doc, aliases: 0 });
  if (plain === null || plain === undefined) return {};
  if (!isPlainObject(plain)) {
    problems.push({ file, line: 1, path: [], message: 'the config must be a YAML map with receivers, exporters, service...' });
    return {};
  }
  return plain;
}

/**
 * Applies one `--set key.path=value` (the collector also accepts `::` as the separator). The value is
 * parsed as YAML, so `--set processors.batch.send_batch_size=100` yields a number.
 */
export function applySet(raw: RawConfig, assignment: string, locations: Map<string, SourceLocation>, found: Found, env: NodeJS.ProcessEnv): void {
  const problems = found.problems;
  const eq = assignment.indexOf('=');
  if (eq <= 0) {
    problems.push({ file: '--set', path: [], message: `"${assignment}" is not key.path=value` });
    return;
  }
  const keyText = assignment.slice(0, eq);
  const path = keyText.includes('::') ? keyText.split('::') : splitDotted(keyText);
  let value: unknown;
  const rawValue = assignment.slice(eq + 1);
  try {
    value = parseYaml(rawValue, { logLevel: 'silent' });
  } catch {
    value = rawValue;
  }
  // A scalar keeps its text unless its YAML type holds that text exactly (`=0123` stays "0123").
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) value = typedScalar(rawValue);
  const report = (message: string) => problems.push({ file: '--set', path, message });
  if (typeof value === 'string') value = expandEnv(value, env, report, (message) => found.warnings.push({ file: '--set', path, message }));
  let cur: Record<string, unknown> = raw;
  for (const part of path.slice(0, -1)) {
    if (!isPlainObject(cur[part])) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (isPlainObject(cur[last]) && isPlainObject(value)) mergeInto(cur[last] as Record<string, unknown>, value);
  else {
    cur[last] = value;
    // What the file had below this key is gone: a problem there now points at this --set, not at the file.
    const prefix = pathKey(path) + '\0';
    for (const key of [...locations.keys()]) if (key.startsWith(prefix)) locations.delete(key);
  }
  locations.set(pathKey(path), { file: '--set' });
}

/** Splits `a.b.c` on every dot: a key that holds dots (`host.name`, `otlp/a.b`) needs `::` as the separator. */
function splitDotted(key: string): string[] {
  return key.split('.');
}

/**
 * The environment variable through which the primary of a gateway with worker processes hands every
 * worker the config files' text it read itself (JSON: path -> text). A worker replacing one that died
 * starts long after the primary read them: reading the files again, it would run whatever they hold now
 * (a Kubernetes ConfigMap updates the mounted file in place), beside workers on the old config, and with a
 * changed WAL directory it would never replay its predecessor's WAL.
 */
export const CONFIG_FILES_ENV = 'GOPHERSHIP_CONFIG_FILES';

export async function loadConfigFiles(files: readonly string[], sets: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const locations = new Map<string, SourceLocation>();
  const found: Found = { problems: [], warnings: [] };
  const raw: RawConfig = {};
  const texts: Record<string, string> = {};
  const held = env[CONFIG_FILES_ENV] ? (JSON.parse(env[CONFIG_FILES_ENV]) as Record<string, string>) : {};
  for (const uri of files) {
    const source = await readConfigSource(uri, env, found, held);
    if (source === undefined) continue;
    if (source.file) texts[source.name] = source.text;
    const parsed = parseConfigText(source.text, source.name, env, locations, found);
    mergeInto(raw, source.nestKeys ? nestDelimitedKeys(parsed) : parsed);
  }
  for (const a of sets) applySet(raw, a, locations, found, env);
  return { raw, locations, problems: found.problems, warnings: found.warnings, files: texts };
}

/** `file:`, `env:`, `yaml:` or another provider's scheme at the start of a `--config` value (2+ letters, so `C:\\` is a path). */
const CONFIG_URI = /^([A-Za-z][A-Za-z0-9+.-]+):(.*)$/s;

/**
 * Reads one `--config` value as the collector does: a plain path or `file:path` is a file, `env:VAR` the
 * YAML held by an environment variable, `yaml:a::b: value` inline YAML whose `::` keys nest.
 */
async function readConfigSource(
  uri: string,
  env: NodeJS.ProcessEnv,
  found: Found,
  held: Record<string, string>,
): Promise<{ text: string; name: string; nestKeys?: boolean; file?: boolean } | undefined> {
  const m = CONFIG_URI.exec(uri);
  const scheme = m?.[1]?.toLowerCase();
  if (!m || scheme === 'file') {
    const file = m ? m[2]! : uri;
    if (held[file] !== undefined) return { text: held[file], name: file, file: true };
    try {
      return { text: await readFile(file, 'utf8'), name: file, file: true };
    } catch (err) {
      found.problems.push({ file, path: [], message: `cannot read config file: ${(err as Error).message}` });
      return undefined;
    }
  }
  if (scheme === 'env') {
    const text = env[m[2]!];
    if (text === undefined) {
      found.problems.push({ file: uri, path: [], message: `environment variable ${m[2]} is not set: it should hold the config YAML` });
      return undefined;
    }
    return { text, name: uri };
  }
  if (scheme === 'yaml') return { text: m[2]!, name: uri, nestKeys: true };
  found.problems.push({
    file: uri,
    path: [],
    message: `config URI scheme "${m[1]}:" is not supported yet by GopherShip (the collector fetches configs from providers such as http and https); use file:, env: or yaml:`,
  });
  return undefined;
}

/** Expands keys written with the collector's `::` delimiter (`processors::batch::timeout`) into nested maps. */
function nestDelimitedKeys(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const parts = key.split('::');
    let nested: unknown = isPlainObject(v) ? nestDelimitedKeys(v) : v;
    for (let i = parts.length - 1; i > 0; i--) nested = { [parts[i]!]: nested };
    mergeInto(out, { [parts[0]!]: nested });
  }
  return out;
}

/** Finds where the closest enclosing key of `path` was set. */
export function locate(locations: Map<string, SourceLocation>, path: readonly string[]): SourceLocation | undefined {
  for (let n = path.length; n >= 0; n--) {
    const loc = locations.get(pathKey(path.slice(0, n)));
    if (loc) return loc;
  }
  return undefined;
}
