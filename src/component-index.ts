/**
 * The built-in components by name, each factory loaded only when a configuration names it: the gateway
 * imports what it runs, not every component (all of them took ~22 MB of V8 heap and ~110 MB RSS at start,
 * the passthrough set 11 MB and 71 MB; every full GC marks the whole heap). The names come from each
 * component's metadata.ts (as its factory's do); src/components.ts loads every entry, for the `components`
 * command, the docs and the tests, and src/component-index.test.ts checks each entry's names against its factory.
 */
import type { AnyFactory, ComponentKind } from './core/component.js';
import type { FactoryRegistry } from './config/validate.js';
import { metadata as otlpReceiverMetadata } from '../receivers/otlp/metadata.js';
import { metadata as natsReceiverMetadata } from '../receivers/nats/metadata.js';
import { metadata as batchProcessorMetadata } from '../processors/batch/metadata.js';
import { metadata as attributesProcessorMetadata } from '../processors/attributes/metadata.js';
import { metadata as resourceProcessorMetadata } from '../processors/resource/metadata.js';
import { metadata as filterProcessorMetadata } from '../processors/filter/metadata.js';
import { metadata as resourcedetectionProcessorMetadata } from '../processors/resourcedetection/metadata.js';
import { metadata as redactionProcessorMetadata } from '../processors/redaction/metadata.js';
import { metadata as somaticProcessorMetadata } from '../processors/somatic/metadata.js';
import { metadata as memoryLimiterProcessorMetadata } from '../processors/memory_limiter/metadata.js';
import { metadata as transformProcessorMetadata } from '../processors/transform/metadata.js';
import { metadata as probabilisticSamplerProcessorMetadata } from '../processors/probabilistic_sampler/metadata.js';
import { metadata as tailSamplingProcessorMetadata } from '../processors/tail_sampling/metadata.js';
import { metadata as otlpExporterMetadata } from '../exporters/otlp/metadata.js';
import { metadata as otlphttpExporterMetadata } from '../exporters/otlphttp/metadata.js';
import { metadata as debugExporterMetadata } from '../exporters/debug/metadata.js';
import { metadata as fileExporterMetadata } from '../exporters/file/metadata.js';
import { metadata as natsExporterMetadata } from '../exporters/nats/metadata.js';
import { metadata as loadbalancingExporterMetadata } from '../exporters/loadbalancing/metadata.js';
import { metadata as healthCheckExtensionMetadata } from '../extensions/health_check/metadata.js';
import { metadata as pprofExtensionMetadata } from '../extensions/pprof/metadata.js';
import { metadata as forwardConnectorMetadata } from '../connectors/forward/metadata.js';
import { metadata as routingConnectorMetadata } from '../connectors/routing/metadata.js';
import { metadata as countConnectorMetadata } from '../connectors/count/metadata.js';
import { metadata as spanmetricsConnectorMetadata } from '../connectors/spanmetrics/metadata.js';
import { metadata as bearertokenauthExtensionMetadata } from '../extensions/bearertokenauth/metadata.js';
import { metadata as basicauthExtensionMetadata } from '../extensions/basicauth/metadata.js';
import { metadata as headersSetterExtensionMetadata } from '../extensions/headers_setter/metadata.js';
import { metadata as oidcExtensionMetadata } from '../extensions/oidc/metadata.js';
import { metadata as zpagesExtensionMetadata } from '../extensions/zpages/metadata.js';
import { metadata as oauth2ClientExtensionMetadata } from '../extensions/oauth2client/metadata.js';

interface IndexedComponent {
  kind: ComponentKind;
  metadata: { type: string; aliases?: readonly string[] };
  load(): Promise<AnyFactory>;
}

export const COMPONENT_INDEX: readonly IndexedComponent[] = [
  { kind: 'receiver', metadata: otlpReceiverMetadata, load: async () => (await import('../receivers/otlp/factory.js')).otlpReceiverFactory },
  { kind: 'receiver', metadata: natsReceiverMetadata, load: async () => (await import('../receivers/nats/factory.js')).natsReceiverFactory },
  { kind: 'processor', metadata: batchProcessorMetadata, load: async () => (await import('../processors/batch/factory.js')).batchProcessorFactory },
  {
    kind: 'processor',
    metadata: attributesProcessorMetadata,
    load: async () => (await import('../processors/attributes/factory.js')).attributesProcessorFactory,
  },
  { kind: 'processor', metadata: resourceProcessorMetadata, load: async () => (await import('../processors/resource/factory.js')).resourceProcessorFactory },
  { kind: 'processor', metadata: filterProcessorMetadata, load: async () => (await import('../processors/filter/factory.js')).filterProcessorFactory },
  {
    kind: 'processor',
    metadata: resourcedetectionProcessorMetadata,
    load: async () => (await import('../processors/resourcedetection/factory.js')).resourceDetectionProcessorFactory,
  },
  { kind: 'processor', metadata: redactionProcessorMetadata, load: async () => (await import('../processors/redaction/factory.js')).redactionProcessorFactory },
  { kind: 'processor', metadata: somaticProcessorMetadata, load: async () => (await import('../processors/somatic/factory.js')).somaticProcessorFactory },
  {
    kind: 'processor',
    metadata: memoryLimiterProcessorMetadata,
    load: async () => (await import('../processors/memory_limiter/factory.js')).memoryLimiterProcessorFactory,
  },
  { kind: 'processor', metadata: transformProcessorMetadata, load: async () => (await import('../processors/transform/factory.js')).transformProcessorFactory },
  {
    kind: 'processor',
    metadata: probabilisticSamplerProcessorMetadata,
    load: async () => (await import('../processors/probabilistic_sampler/factory.js')).probabilisticSamplerProcessorFactory,
  },
  {
    kind: 'processor',
    metadata: tailSamplingProcessorMetadata,
    load: async () => (await import('../processors/tail_sampling/factory.js')).tailSamplingProcessorFactory,
  },
  { kind: 'exporter', metadata: otlpExporterMetadata, load: async () => (await import('../exporters/otlp/factory.js')).otlpExporterFactory },
  { kind: 'exporter', metadata: otlphttpExporterMetadata, load: async () => (await import('../exporters/otlphttp/factory.js')).otlphttpExporterFactory },
  { kind: 'exporter', metadata: debugExporterMetadata, load: async () => (await import('../exporters/debug/factory.js')).debugExporterFactory },
  { kind: 'exporter', metadata: fileExporterMetadata, load: async () => (await import('../exporters/file/factory.js')).fileExporterFactory },
  { kind: 'exporter', metadata: natsExporterMetadata, load: async () => (await import('../exporters/nats/factory.js')).natsExporterFactory },
  {
    kind: 'exporter',
    metadata: loadbalancingExporterMetadata,
    load: async () => (await import('../exporters/loadbalancing/factory.js')).loadBalancingExporterFactory,
  },
  {
    kind: 'extension',
    metadata: healthCheckExtensionMetadata,
    load: async () => (await import('../extensions/health_check/factory.js')).healthCheckExtensionFactory,
  },
  { kind: 'extension', metadata: pprofExtensionMetadata, load: async () => (await import('../extensions/pprof/factory.js')).pprofExtensionFactory },
  { kind: 'connector', metadata: forwardConnectorMetadata, load: async () => (await import('../connectors/forward/factory.js')).forwardConnectorFactory },
  { kind: 'connector', metadata: routingConnectorMetadata, load: async () => (await import('../connectors/routing/factory.js')).routingConnectorFactory },
  { kind: 'connector', metadata: countConnectorMetadata, load: async () => (await import('../connectors/count/factory.js')).countConnectorFactory },
  {
    kind: 'connector',
    metadata: spanmetricsConnectorMetadata,
    load: async () => (await import('../connectors/spanmetrics/factory.js')).spanMetricsConnectorFactory,
  },
  {
    kind: 'extension',
    metadata: bearertokenauthExtensionMetadata,
    load: async () => (await import('../extensions/bearertokenauth/factory.js')).bearerTokenAuthExtensionFactory,
  },
  { kind: 'extension', metadata: basicauthExtensionMetadata, load: async () => (await import('../extensions/basicauth/factory.js')).basicAuthExtensionFactory },
  {
    kind: 'extension',
    metadata: headersSetterExtensionMetadata,
    load: async () => (await import('../extensions/headers_setter/factory.js')).headersSetterExtensionFactory,
  },
  { kind: 'extension', metadata: oidcExtensionMetadata, load: async () => (await import('../extensions/oidc/factory.js')).oidcExtensionFactory },
  { kind: 'extension', metadata: zpagesExtensionMetadata, load: async () => (await import('../extensions/zpages/factory.js')).zpagesExtensionFactory },
  {
    kind: 'extension',
    metadata: oauth2ClientExtensionMetadata,
    load: async () => (await import('../extensions/oauth2client/factory.js')).oauth2ClientExtensionFactory,
  },
];

/** The config sections that name components, and their kinds. */
const SECTIONS: Readonly<Record<string, ComponentKind>> = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  extensions: 'extension',
  connectors: 'connector',
};

/** A registry over `factories` (in their order). */
export function registryOf(factories: readonly AnyFactory[]): FactoryRegistry {
  return {
    find(kind: ComponentKind, type: string) {
      return factories.find((f) => f.kind === kind && (f.type === type || (f.aliases ?? []).includes(type)));
    },
    list(kind: ComponentKind) {
      return factories.filter((f) => f.kind === kind);
    },
  };
}

/**
 * A registry holding the factories of the component types `raw` (a loaded configuration) names, loaded now.
 * A type no built-in component has makes it load all of them: the validator's message then lists every known type.
 */
export async function registryFor(raw: Record<string, unknown>): Promise<FactoryRegistry> {
  const wanted = new Set<IndexedComponent>();
  for (const [section, kind] of Object.entries(SECTIONS)) {
    const value = raw[section];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    for (const id of Object.keys(value)) {
      const slash = id.indexOf('/');
      const type = slash < 0 ? id : id.slice(0, slash);
      const entry = COMPONENT_INDEX.find((e) => e.kind === kind && (e.metadata.type === type || (e.metadata.aliases ?? []).includes(type)));
      if (entry === undefined) return registryOf(await Promise.all(COMPONENT_INDEX.map((e) => e.load())));
      wanted.add(entry);
    }
  }
  // In index order, as the eager registry lists them.
  return registryOf(await Promise.all(COMPONENT_INDEX.filter((e) => wanted.has(e)).map((e) => e.load())));
}
