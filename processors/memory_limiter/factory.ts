import type { ProcessorFactory } from '../../src/core/component.js';
import { DEFAULT_THRESHOLDS, type SomaticSettings, type ThresholdKey } from '../../src/somatic/index.js';
import { limitsOf, memoryLimiterProcessorConfig, type MemoryLimiterProcessorConfig } from './config.js';
import { MemoryLimiterProcessor } from './memory-limiter-processor.js';
import { metadata } from './metadata.js';

/**
 * The somatic runtime a memory_limiter implies: the admission gate keeps memory under the soft limit
 * (admit ratio soft/hard of the hard limit), checked every check_interval; no zone thresholds, so the
 * zone stays Green and nothing is bypassed or spilled.
 */
export function runtimeSettings(c: MemoryLimiterProcessorConfig): SomaticSettings {
  const { hard, soft } = limitsOf(c);
  const noZones = Object.fromEntries(Object.keys(DEFAULT_THRESHOLDS).map((k) => [k, { yellow: 0, red: 0 }])) as Record<
    ThresholdKey,
    { yellow: number; red: number }
  >;
  return {
    memoryLimitBytes: hard,
    inflightBudgetBytes: Math.floor(hard / 4),
    admitMemoryRatio: soft / hard,
    checkIntervalMs: c.check_interval,
    minDwellMs: 5000,
    leaveRatio: 0.8,
    fallIntakeRatio: 0.9,
    thresholds: noZones,
    forceZone: undefined,
  };
}

export const memoryLimiterProcessorFactory: ProcessorFactory<MemoryLimiterProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: memoryLimiterProcessorConfig,
  create(settings, config, signal, next) {
    const runtime = settings.pressure.provide(runtimeSettings(config), settings.logger, settings.id.id);
    return new MemoryLimiterProcessor(settings, config, signal, next, runtime);
  },
};
