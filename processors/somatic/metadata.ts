/** What this component states about itself (see src/core/metadata.ts): the factory, registry, reference docs and lifecycle test read it. */
import { join } from 'node:path';
import type { ComponentMetadata } from '../../src/core/metadata.js';
import { SIGNALS } from '../../src/core/signal.js';
import { SOMATIC_METRICS } from '../../src/somatic/metrics.js';

export const metadata = {
  type: 'somatic',
  description: 'Pressure zones: Green passes on, Yellow bypasses optional processors, Red spills raw requests to a WAL and replays them later',
  stability: 'alpha',
  // GopherShip's own: no collector config names it.
  gophershipOnly: true,
  signals: SIGNALS,
  // It is the zone itself; bypassing it would bypass Red's spill.
  skippableUnderPressure: false,
  metrics: Object.values(SOMATIC_METRICS),
  tests: { config: ({ dir }) => ({ memory_limit_mib: 4096, wal: { directory: join(dir, 'somatic') } }) },
} as const satisfies ComponentMetadata & { signals: unknown; skippableUnderPressure: boolean };
