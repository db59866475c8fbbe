/**
 * Turns a loaded raw config into a validated one, driving each component factory's schema. Every
 * problem is collected (not just the first), each with the file, the key path and the line.
 */
import type { AnyFactory, ComponentId, ComponentKind, ConnectorFactory } from '../core/component.js';
import { parseComponentId } from '../core/component.js';
import { nearestName, s, unknownKeyMessage, type ConfigIssue } from '../core/schema.js';
import { isSignal, type Signal } from '../core/signal.js';
import { isPlainObject, locate, type ConfigProblem, type LoadedConfig } from './load.js';
import { telemetrySchema, type TelemetryConfig } from '../telemetry/config.js';
import { collectorOnlyComponent, collectorOnlyMessage } from './collector-components.js';
import { renamedKey, renamedKeyMessage } from './collector-keys.js';
import { checkConnectors } from './connectors.js';

export interface FactoryRegistry {
  find(kind: ComponentKind, type: string): AnyFactory | undefined;
  list(kind: ComponentKind): AnyFactory[];
}

export interface ComponentConfig {
  id: ComponentId;
  factory: AnyFactory;
  config: unknown;
}

export interface PipelineConfig {
  /** `logs`, `traces/2`... */
  id: string;
  signal: Signal;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export type { TelemetryConfig } from '../telemetry/config.js';

const WORKER_THREADS = /^(auto|[0-9]|[1-5][0-9]|6[0-4])$/;
const WORKER_THREADS_HINT = 'auto or a number of threads from 0 to 64';
const processingSchema = s.object({
  worker_threads: s
    .string(WORKER_THREADS, WORKER_THREADS_HINT)
    .default('auto')
    .describe(
      'auto or 0-64: worker threads that run the per-record edits of the attributes, filter and redaction processors beside the event loop (each processor still counts and forwards on the event loop); auto: one per core, at most 4, none on a single core; 0: every edit on the event loop.',
    ),
});

export type ProcessingConfig = ReturnType<typeof processingSchema.defaults>;

const WORKERS = /^(auto|[1-9][0-9]{0,2})$/;
const WORKERS_HINT = 'auto or a number of worker processes from 1 to 999';
const workersSchema = s
  .string(WORKERS, WORKERS_HINT)
  .default('1')
  .describe(
    'auto or N: worker processes that share the receiver ports, each running every pipeline with its own WAL directories (<directory>/worker-K) and memory share; auto: one per core this process may use (its CPU affinity capped by its cgroup CPU quota, e.g. a pod CPU limit), at most one per 160 MiB of the somatic memory_limit_mib; 1: no worker processes (docs/deployment.md).',
  );

/** The schema-checked sections under `service` (pipelines and extensions are checked by hand below). */
export const SERVICE_SECTION_SCHEMAS = { telemetry: telemetrySchema, processing: processingSchema, workers: workersSchema } as const;

export interface ValidatedConfig {
  receivers: Map<string, ComponentConfig>;
  processors: Map<string, ComponentConfig>;
  exporters: Map<string, ComponentConfig>;
  extensions: Map<string, ComponentConfig>;
  connectors: Map<string, ComponentConfig>;
  service: {
    extensions: string[];
    pipelines: PipelineConfig[];
    telemetry: TelemetryConfig;
    processing: ProcessingConfig;
    /** `service.workers` as written: `auto` or a count (src/service/workers). */
    workers: string;
  };
}

const SECTIONS: Record<string, ComponentKind> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  extensions: 'extension',
  connectors: 'connector',
};
const TOP_LEVEL = ['receivers', 'processors', 'exporters', 'extensions', 'connectors', 'service'];

export type ValidationResult = { ok: true; config: ValidatedConfig } | { ok: false; problems: ConfigProblem[] };

export function validateConfig(loaded: LoadedConfig, registry: FactoryRegistry): ValidationResult {
  const problems: ConfigProblem[] = [...loaded.problems];
  const raw = loaded.raw;
  const report = (path: string[], message: string) => {
    const loc = locate(loaded.locations, path);
    problems.push({ file: loc?.file, line: loc?.line, path, message });
  };

  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL.includes(key)) report([key], `unknown top-level key; valid keys: ${TOP_LEVEL.join(', ')}`);
  }

  const sections = {} as Record<ComponentKind, Map<string, ComponentConfig>>;
  for (const [section, kind] of Object.entries(SECTIONS)) {
    sections[kind] = new Map();
    const value = raw[section];
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) {
      report([section], `expected a map of ${kind} IDs to their settings`);
      continue;
    }
    for (const [idText, compRaw] of Object.entries(value)) {
      const path = [section, idText];
      const id = parseComponentId(idText);
      if (!id) {
        report(path, `"${idText}" is not a valid ${kind} ID; write type or type/name, e.g. otlp or otlp/internal`);
        continue;
      }
      const factory = registry.find(kind, id.type);
      if (!factory) {
        report(path, unknownTypeMessage(registry, kind, id.type));
        continue;
      }
      const issues: ConfigIssue[] = [];
      const config = factory.config.parse(compRaw, path, issues);
      for (const issue of issues) report(issue.path, olderKeyMessage(kind, factory.type, issue) ?? issue.message);
      sections[kind].set(idText, { id, factory, config });
    }
  }

  const service = isPlainObject(raw.service) ? raw.service : {};
  if (raw.service !== undefined && !isPlainObject(raw.service))
    report(['service'], 'expected a map with pipelines, extensions, telemetry, processing and workers');
  for (const key of Object.keys(service)) {
    const SERVICE_KEYS = ['extensions', 'pipelines', 'telemetry', 'processing', 'workers'];
    if (!SERVICE_KEYS.includes(key)) report(['service', key], unknownKeyMessage(key, SERVICE_KEYS));
  }
  const workersIssues: ConfigIssue[] = [];
  const workers = String(workersSchema.parse(service.workers, ['service', 'workers'], workersIssues));
  if (workersIssues.length === 0 && !WORKERS.test(workers))
    workersIssues.push({ path: ['service', 'workers'], message: `"${workers}" is not ${WORKERS_HINT}` });
  for (const issue of workersIssues) report(issue.path, issue.message);

  const telemetryIssues: ConfigIssue[] = [];
  const telemetry = telemetrySchema.parse(service.telemetry, ['service', 'telemetry'], telemetryIssues);
  for (const issue of telemetryIssues) report(issue.path, issue.message);
  const processingIssues: ConfigIssue[] = [];
  const processing = processingSchema.parse(service.processing, ['service', 'processing'], processingIssues);
  // A YAML number arrives as a number, which the string schema takes without its pattern.
  if (processingIssues.length === 0 && !WORKER_THREADS.test(processing.worker_threads)) {
    processingIssues.push({ path: ['service', 'processing', 'worker_threads'], message: `"${processing.worker_threads}" is not ${WORKER_THREADS_HINT}` });
  }
  for (const issue of processingIssues) report(issue.path, issue.message);

  const extensions = stringList(service.extensions, ['service', 'extensions'], report);
  extensions.forEach((ext, i) => {
    // An extension whose definition was refused (unknown type, bad keys) already has its problem listed.
    const defined = isPlainObject(raw.extensions) && ext in raw.extensions;
    if (!sections.extension.has(ext) && !defined) report(['service', 'extensions', String(i)], `extension "${ext}" is not defined under extensions:`);
  });

  // Every `auth.authenticator` must name an extension the service runs (the collector checks at start;
  // here `validate` says so with the key's line).
  for (const [section, kind] of Object.entries(SECTIONS)) {
    for (const [id, c] of sections[kind]) {
      for (const ref of authenticatorRefs(c.config, [section, id])) {
        if (!extensions.includes(ref.id)) {
          const defined = sections.extension.has(ref.id);
          report(
            ref.path,
            `extension "${ref.id}" is ${defined ? 'not listed in service.extensions' : 'not defined under extensions: (and listed in service.extensions)'}`,
          );
        }
      }
    }
  }

  const pipelines: PipelineConfig[] = [];
  if (service.pipelines === undefined) {
    // Not on top of an unreadable file or a YAML error: that is the problem, not the pipelines it hid.
    if (loaded.problems.length === 0) report(['service', 'pipelines'], 'no pipelines: add service.pipelines with at least one of logs, traces, metrics');
  } else if (!isPlainObject(service.pipelines)) {
    report(['service', 'pipelines'], 'expected a map of pipeline IDs (logs, traces/2...) to receivers/processors/exporters');
  } else {
    if (Object.keys(service.pipelines).length === 0) report(['service', 'pipelines'], 'no pipelines defined');
    for (const [pid, pRaw] of Object.entries(service.pipelines)) {
      const path = ['service', 'pipelines', pid];
      const signal = pid.split('/')[0]!;
      if (!isSignal(signal) || !/^[a-z]+(\/[^/\s]+)?$/.test(pid)) {
        report(path, `"${pid}" is not a pipeline ID; write logs, traces or metrics, optionally /name (e.g. logs/audit)`);
        continue;
      }
      if (!isPlainObject(pRaw)) {
        report(path, 'expected a map with receivers, processors and exporters');
        continue;
      }
      for (const key of Object.keys(pRaw)) {
        if (!['receivers', 'processors', 'exporters'].includes(key)) report([...path, key], unknownKeyMessage(key, ['receivers', 'processors', 'exporters']));
      }
      const lists = {
        receivers: stringList(pRaw.receivers, [...path, 'receivers'], report),
        processors: stringList(pRaw.processors, [...path, 'processors'], report),
        exporters: stringList(pRaw.exporters, [...path, 'exporters'], report),
      };
      // (Only for an empty or absent list: a value that is not a list was reported as such.)
      const listOrAbsent = (v: unknown) => v === undefined || v === null || Array.isArray(v);
      if (lists.receivers.length === 0 && listOrAbsent(pRaw.receivers)) report([...path, 'receivers'], 'a pipeline needs at least one receiver');
      if (lists.exporters.length === 0 && listOrAbsent(pRaw.exporters)) report([...path, 'exporters'], 'a pipeline needs at least one exporter');
      for (const [listName, kind] of [
        ['receivers', 'receiver'],
        ['processors', 'processor'],
        ['exporters', 'exporter'],
      ] as const) {
        const seen = new Set<string>();
        lists[listName].forEach((ref, i) => {
          const refPath = [...path, listName, String(i)];
          if (seen.has(ref)) report(refPath, `"${ref}" is listed twice in this pipeline`);
          seen.add(ref);
          // A connector is listed among a pipeline's exporters (it takes the data) or receivers (it emits it).
          if (listName !== 'processors' && !sections[kind].has(ref) && sections.connector.has(ref)) {
            // Where it takes the data (the exporters list): the connector's own check, as any component's.
            const conn = sections.connector.get(ref)!;
            const problem = listName === 'exporters' ? conn.factory.checkPipeline?.(conn.config, { signal, index: i, workers }) : undefined;
            if (problem) report(refPath, `connector "${ref}" cannot serve here: ${problem}`);
            return;
          }
          const comp = sections[kind].get(ref);
          if (!comp) {
            // Not reported twice when the definition itself was invalid (its problem is already listed).
            const defined =
              (isPlainObject(raw[listName]) && ref in (raw[listName] as object)) ||
              (listName !== 'processors' && isPlainObject(raw.connectors) && ref in raw.connectors);
            if (!defined) report(refPath, `${kind} "${ref}" is not defined under ${listName}:`);
            return;
          }
          const signals = (comp.factory as { signals?: readonly Signal[] }).signals;
          if (signals && !signals.includes(signal)) report(refPath, `${kind} "${ref}" does not support ${signal}`);
          else {
            const problem = comp.factory.checkPipeline?.(comp.config, { signal, index: i, workers });
            if (problem) report(refPath, `${kind} "${ref}" cannot serve here: ${problem}`);
          }
        });
      }
      pipelines.push({ id: pid, signal, ...lists });
    }
  }

  if (problems.length === 0) checkConnectors(sections.connector as Map<string, ComponentConfig & { factory: ConnectorFactory }>, pipelines, report);

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      receivers: sections.receiver,
      processors: sections.processor,
      exporters: sections.exporter,
      extensions: sections.extension,
      connectors: sections.connector,
      service: { extensions, pipelines, telemetry, processing, workers },
    },
  };
}

/** For an unknown key the collector once had (src/config/collector-keys.ts): what to write now. */
function olderKeyMessage(kind: ComponentKind, type: string, issue: ConfigIssue): string | undefined {
  if (!issue.message.startsWith('unknown key')) return undefined;
  const below = issue.path.slice(2);
  const entry = renamedKey(kind, type, below);
  return entry && renamedKeyMessage(entry, below[below.length - 1]!);
}

function unknownTypeMessage(registry: FactoryRegistry, kind: ComponentKind, type: string): string {
  const collectorOnly = collectorOnlyComponent(kind, type);
  if (collectorOnly) return collectorOnlyMessage(collectorOnly, type);
  const factories = registry.list(kind);
  const near = nearestName(
    type,
    factories.flatMap((f) => [f.type, ...(f.aliases ?? [])]),
  );
  if (near) return `unknown ${kind} type "${type}"; did you mean "${near}"?`;
  const known = factories.map((f) => (f.aliases?.length ? `${f.type} (or ${f.aliases.join(', ')})` : f.type)).join(', ');
  return `unknown ${kind} type "${type}"; known ${kind} types: ${known || '(none)'}`;
}

function stringList(value: unknown, path: string[], report: (path: string[], msg: string) => void): string[] {
  if (value === undefined || value === null) return [];
  // As the collector's confmap: a lone string is a one-item list (`receivers: otlp`).
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value)) {
    report(path, 'expected a list of component IDs, e.g. [otlp]');
    return [];
  }
  const out: string[] = [];
  value.forEach((v, i) => {
    if (typeof v !== 'string') report([...path, String(i)], `expected a component ID string, got ${JSON.stringify(v)}`);
    else out.push(v);
  });
  return out;
}

/** The `auth: { authenticator }` settings inside a component's parsed config, with their key paths. */
function authenticatorRefs(config: unknown, path: string[]): { id: string; path: string[] }[] {
  if (!isPlainObject(config) || path.length > 8) return [];
  const out: { id: string; path: string[] }[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (key === 'auth' && isPlainObject(value) && typeof value.authenticator === 'string')
      out.push({ id: value.authenticator, path: [...path, 'auth', 'authenticator'] });
    else out.push(...authenticatorRefs(value, [...path, key]));
  }
  return out;
}
