/**
 * The built-in component factories, all loaded: `gophership components` prints this list, and the docs and
 * tests read it. The gateway itself loads only the factories its configuration names (src/component-index.ts).
 */
import type { AnyFactory } from './core/component.js';
import type { FactoryRegistry } from './config/validate.js';
import { registryOf } from './component-index.js';
import { otlpReceiverFactory } from '../receivers/otlp/factory.js';
import { natsReceiverFactory } from '../receivers/nats/factory.js';
import { batchProcessorFactory } from '../processors/batch/factory.js';
import { attributesProcessorFactory } from '../processors/attributes/factory.js';
import { resourceProcessorFactory } from '../processors/resource/factory.js';
import { filterProcessorFactory } from '../processors/filter/factory.js';
import { resourceDetectionProcessorFactory } from '../processors/resourcedetection/factory.js';
import { redactionProcessorFactory } from '../processors/redaction/factory.js';
import { somaticProcessorFactory } from '../processors/somatic/factory.js';
import { memoryLimiterProcessorFactory } from '../processors/memory_limiter/factory.js';
import { transformProcessorFactory } from '../processors/transform/factory.js';
import { probabilisticSamplerProcessorFactory } from '../processors/probabilistic_sampler/factory.js';
import { tailSamplingProcessorFactory } from '../processors/tail_sampling/factory.js';
import { otlpExporterFactory } from '../exporters/otlp/factory.js';
import { otlphttpExporterFactory } from '../exporters/otlphttp/factory.js';
import { debugExporterFactory } from '../exporters/debug/factory.js';
import { fileExporterFactory } from '../exporters/file/factory.js';
import { natsExporterFactory } from '../exporters/nats/factory.js';
import { loadBalancingExporterFactory } from '../exporters/loadbalancing/factory.js';
import { healthCheckExtensionFactory } from '../extensions/health_check/factory.js';
import { forwardConnectorFactory } from '../connectors/forward/factory.js';
import { routingConnectorFactory } from '../connectors/routing/factory.js';
import { countConnectorFactory } from '../connectors/count/factory.js';
import { spanMetricsConnectorFactory } from '../connectors/spanmetrics/factory.js';
import { bearerTokenAuthExtensionFactory } from '../extensions/bearertokenauth/factory.js';
import { basicAuthExtensionFactory } from '../extensions/basicauth/factory.js';
import { headersSetterExtensionFactory } from '../extensions/headers_setter/factory.js';
import { oidcExtensionFactory } from '../extensions/oidc/factory.js';

export const builtinFactories: readonly AnyFactory[] = [
  otlpReceiverFactory,
  natsReceiverFactory,
  batchProcessorFactory,
  attributesProcessorFactory,
  resourceProcessorFactory,
  filterProcessorFactory,
  resourceDetectionProcessorFactory,
  redactionProcessorFactory,
  somaticProcessorFactory,
  memoryLimiterProcessorFactory,
  transformProcessorFactory,
  probabilisticSamplerProcessorFactory,
  tailSamplingProcessorFactory,
  otlpExporterFactory,
  otlphttpExporterFactory,
  debugExporterFactory,
  fileExporterFactory,
  natsExporterFactory,
  loadBalancingExporterFactory,
  healthCheckExtensionFactory,
  forwardConnectorFactory,
  routingConnectorFactory,
  countConnectorFactory,
  spanMetricsConnectorFactory,
  bearerTokenAuthExtensionFactory,
  basicAuthExtensionFactory,
  headersSetterExtensionFactory,
  oidcExtensionFactory,
];

export function createRegistry(factories: readonly AnyFactory[] = builtinFactories): FactoryRegistry {
  return registryOf(factories);
}
