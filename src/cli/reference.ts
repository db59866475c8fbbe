/**
 * Renders docs/reference.md, the configuration reference, from the config schemas of the registered
 * component factories, so the reference cannot drift from what validation accepts. `npm run docs`
 * writes it; test/reference.test.ts fails when the committed file differs from a fresh rendering.
 */
import type { AnyFactory, ComponentKind } from '../core/component.js';
import type { SchemaDoc } from '../core/schema.js';
import { DEFAULT_HISTOGRAM_BUCKETS, metricName, type MetricDef } from '../core/metadata.js';
import { SUFFIXED_NAMING } from '../core/metric-naming.js';
import { SERVICE_METRICS } from '../telemetry/metrics.js';
import { builtinFactories } from '../components.js';
import { SERVICE_SECTION_SCHEMAS } from '../config/validate.js';

const KIND_ORDER: ComponentKind[] = ['receiver', 'processor', 'exporter', 'connector', 'extension'];
const KIND_TITLE: Record<ComponentKind, string> = {
  receiver: 'Receivers',
  processor: 'Processors',
  exporter: 'Exporters',
  connector: 'Connectors',
  extension: 'Extensions',
};

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

function typeOf(d: SchemaDoc): string {
  if (d.type === 'enum' && d.values) return d.values.map((v) => `\`${v}\``).join(' | ');
  if (d.type === 'list' && d.items) return `list of ${typeOf(d.items)}`;
  if (d.type === 'map' && d.items) return `map of ${typeOf(d.items)}`;
  // A secret shows as such: print-config masks it.
  return d.opaque ? `${d.type} (secret)` : d.type;
}

function formatDefault(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v === '' ? '`""`' : `\`${v}\``;
  if (Array.isArray(v) && v.length === 0) return '`[]`';
  if (typeof v === 'object' && v !== null && Object.keys(v).length === 0) return '`{}`';
  return `\`${JSON.stringify(v)}\``;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
/** Prose may hold `<placeholder>`s, which markdown would take for HTML tags. */
const prose = (text: string): string => cell(text).replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Flattens a schema into one row per key, with dotted paths (`protocols.grpc.endpoint`). */
export function flattenSchema(doc: SchemaDoc, prefix = ''): Row[] {
  const rows: Row[] = [];
  if (doc.type !== 'map' || !doc.fields) return rows;
  for (const [name, field] of Object.entries(doc.fields)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (field.type === 'map' && field.fields) {
      rows.push({ key, type: 'section', default: '', description: field.description ?? '' });
      rows.push(...flattenSchema(field, key));
    } else if (field.type === 'map' && field.items?.type === 'map' && field.items.fields) {
      // A map of sections keyed by a user-chosen name: document the section's keys under `<name>`.
      rows.push({ key, type: 'map of sections', default: formatDefault(field.default), description: field.description ?? '' });
      rows.push(...flattenSchema(field.items, `${key}.<name>`));
    } else if (field.type === 'list' && field.items?.type === 'map' && field.items.fields) {
      rows.push({ key, type: 'list of sections', default: formatDefault(field.default), description: field.description ?? '' });
      rows.push(...flattenSchema(field.items, `${key}[]`));
    } else {
      rows.push({ key, type: typeOf(field), default: field.required ? '(required)' : formatDefault(field.default), description: field.description ?? '' });
    }
  }
  return rows;
}

function anchor(kind: ComponentKind, type: string): string {
  return `${kind}-${type}`.replace(/[^a-z0-9-]/g, '-');
}

function renderFactory(f: AnyFactory): string {
  const out: string[] = [];
  out.push(`<a id="${anchor(f.kind, f.type)}"></a>`);
  out.push(`### ${f.kind} \`${f.type}\``);
  out.push('');
  out.push(prose(f.description));
  out.push('');
  const facts: string[] = [`stability: ${f.stability}`];
  if (f.aliases?.length) facts.push(`also accepted as ${f.aliases.map((a) => `\`${a}\``).join(', ')}`);
  if ('signals' in f) facts.push(`signals: ${f.signals.join(', ')}`);
  if (f.kind === 'processor') facts.push(f.skippableUnderPressure ? 'bypassed in the somatic Yellow zone (optional)' : 'always runs, in every zone');
  if (facts.length) out.push(`*${facts.join(' · ')}*`, '');
  const rows = flattenSchema(f.config.doc());
  if (rows.length === 0) {
    out.push('No configuration keys.');
  } else {
    out.push('| key | type | default | description |', '| --- | --- | --- | --- |');
    for (const r of rows) out.push(`| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${prose(r.description)} |`);
  }
  out.push('', ...(f.metrics.length ? ['**Metrics**', '', ...renderMetrics(f.metrics)] : ['It emits no metrics.']));
  return out.join('\n');
}

/** The name a metric is scraped under: per-signal metrics end in the signal's item noun. */
export function metricDisplayName(m: MetricDef): string {
  return m.perSignal ? `${m.name}_<items>` : m.name;
}

/** A histogram's bucket bounds, for its description cell. */
function bucketsOf(m: MetricDef): string {
  if (m.type !== 'histogram') return '';
  return ` (buckets: ${(m.buckets ?? DEFAULT_HISTOGRAM_BUCKETS).join(', ')}${m.buckets ? '' : ", the OpenTelemetry SDK's defaults"})`;
}

/** The name served by a `readers` Prometheus pull reader with both suffix options false (see docs/operations.md). */
function suffixedDisplayName(m: MetricDef): string {
  return metricName(m, SUFFIXED_NAMING, m.perSignal ? '<items>' : undefined);
}

function renderMetrics(metrics: readonly MetricDef[]): string[] {
  const out = [
    '| metric | type | unit | labels | level | description | with suffixes (`without_type_suffix`, `without_units` false) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const m of metrics)
    out.push(
      `| \`${metricDisplayName(m)}\` | ${m.type} | \`${m.unit}\` | ${m.labels.join(', ')} | ${m.level} | ${prose(m.description)}${bucketsOf(m)} | \`${suffixedDisplayName(m)}\` |`,
    );
  out.push('', '`level`: the lowest `service.telemetry.metrics.level` that serves it (basic, normal, detailed).');
  if (metrics.some((m) => m.type === 'histogram')) out.push('', 'A histogram is scraped as `<name>_bucket{le}`, `<name>_sum` and `<name>_count`.');
  if (metrics.some((m) => m.perSignal)) out.push('', '`<items>`: one metric per signal, `log_records`, `spans` or `metric_points`.');
  return out;
}

/** The whole reference as markdown. Deterministic: same factories, same text. */
export function renderReference(factories: readonly AnyFactory[] = builtinFactories): string {
  const out: string[] = [];
  out.push('# Configuration reference');
  out.push('');
  out.push(
    "<!-- GENERATED by `npm run docs` (src/cli/reference.ts) from the components' config schemas. Do not edit by hand: test/reference.test.ts fails when this file is stale. -->",
  );
  out.push('');
  out.push('Every built-in component with every key it accepts, its type and its default. Keys not listed are');
  out.push('errors (`gophership validate` names the file, line and key path). Durations are written `200ms`, `5s`,');
  out.push('`1m`; a component ID is `type` or `type/name` (e.g. `otlp/backend`), and every instance of a type takes');
  out.push('the same keys. A key of type *section* is a nested map; an absent section takes its defaults.');
  out.push('*(required)* marks a key without a default that must be set (when its section is present); rules');
  out.push('between keys (at least one action, say) are in the component READMEs.');
  out.push('');
  out.push("A metrics table gives each metric as the collector's metadata names it, served so by default; its last column is the");
  out.push('name served when a `service.telemetry.metrics.readers` Prometheus reader sets `without_type_suffix: false` and');
  out.push('`without_units: false`, as collectors from v0.120 named it by default under a reader (docs/operations.md).');
  out.push('');
  out.push('## Contents');
  out.push('');
  for (const kind of KIND_ORDER) {
    const fs = factories.filter((f) => f.kind === kind);
    if (fs.length === 0) continue;
    out.push(`- ${KIND_TITLE[kind]}: ${fs.map((f) => `[\`${f.type}\`](#${anchor(kind, f.type)})`).join(', ')}`);
  }
  out.push('- [Service](#service)');
  out.push('');
  for (const kind of KIND_ORDER) {
    const fs = factories.filter((f) => f.kind === kind);
    if (fs.length === 0) continue;
    out.push(`## ${KIND_TITLE[kind]}`);
    out.push('');
    for (const f of fs) {
      out.push(renderFactory(f));
      out.push('');
    }
  }
  out.push('<a id="service"></a>');
  out.push('## Service');
  out.push('');
  out.push('| key | type | default | description |');
  out.push('| --- | --- | --- | --- |');
  out.push('| `service.extensions` | list of IDs | `[]` | Extensions to start (each must be defined under `extensions`). |');
  out.push('| `service.pipelines.<signal>[/<name>]` | section | | A pipeline: `logs`, `traces`, `metrics`, optionally named (`logs/audit`). |');
  out.push('| `service.pipelines.<id>.receivers` | list of IDs | | At least one; a receiver may feed several pipelines (each gets its own copy). |');
  out.push('| `service.pipelines.<id>.processors` | list of IDs | `[]` | Run in order; one instance per pipeline. Put `somatic` first. |');
  out.push('| `service.pipelines.<id>.exporters` | list of IDs | | At least one; an exporter listed by several pipelines is one instance. |');
  // The schema-checked sections, from their schemas (so every key the config takes is here).
  for (const [name, schema] of Object.entries(SERVICE_SECTION_SCHEMAS)) {
    for (const r of flattenSchema(schema.doc(), `service.${name}`)) {
      if (r.type !== 'section') out.push(`| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${prose(r.description)} |`);
    }
  }
  out.push('');
  out.push('### Service metrics');
  out.push('');
  out.push("Besides each component's metrics (listed with it above) and prom-client's `gophership_process_*` / `gophership_nodejs_*`:");
  out.push('');
  out.push(...renderMetrics(Object.values(SERVICE_METRICS)));
  out.push('');
  return out.join('\n');
}
