/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import type { ComponentMetadata, MetricDef } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { SOMATIC_METRICS } from '../../src/somatic/metrics.js';

/** The metrics of this processor alone. */
export const METRICS = {
  forcedCollections: {
    name: 'gophership_memory_limiter_forced_collections',
    // normal: forced GCs an operator tunes the limiter by; one series per processor.
    level: 'normal',
    type: 'counter',
    unit: '{collections}',
    description: 'Full garbage collections the memory_limiter forced above its limits',
    labels: ['processor'],
  },
} as const satisfies Record<string, MetricDef>;

export const metadata = {
  type: 'memory_limiter',
  description: 'Refuses data (retryably) while memory is above the soft limit, before request bodies are read; forces a collection above the hard limit',
  stability: 'beta',
  signals: SIGNALS,
  // It protects the process; going around it would defeat it.
  skippableUnderPressure: false,
  // It configures the service's somatic runtime (the admission gate), whose metrics come with it.
  metrics: [...Object.values(METRICS), ...Object.values(SOMATIC_METRICS)],
  tests: { config: () => ({ check_interval: '1s', limit_mib: 4096, spike_limit_mib: 512 }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
