import type { ProcessorFactory } from '../../src/core/component.js';
import { zoneOf, type SomaticSettings } from '../../src/somatic/index.js';
import { somaticProcessorConfig, type SomaticProcessorConfig } from './config.js';
import { SomaticProcessor } from './somatic-processor.js';
import { metadata } from './metadata.js';

/** The service-wide zone settings a somatic processor config implies. */
export function runtimeSettings(c: SomaticProcessorConfig): SomaticSettings {
  const limit = c.memory_limit_mib * 2 ** 20;
  return {
    memoryLimitBytes: limit,
    inflightBudgetBytes: c.inflight_budget_mib > 0 ? c.inflight_budget_mib * 2 ** 20 : Math.floor(limit / 4),
    admitMemoryRatio: c.admit_memory_ratio,
    checkIntervalMs: c.check_interval,
    minDwellMs: c.min_dwell,
    leaveRatio: c.leave_ratio,
    fallIntakeRatio: c.fall_intake_ratio,
    thresholds: c.thresholds,
    // Absent key: the enum schema yields undefined.
    forceZone: (c.force_zone as string | undefined) === undefined ? undefined : zoneOf(c.force_zone),
  };
}

export const somaticProcessorFactory: ProcessorFactory<SomaticProcessorConfig> = {
  kind: 'processor',
  ...metadata,
  config: somaticProcessorConfig,
  // Admission, the Yellow bypass and the Red spill act on what comes after it: placed later, a batch or
  // an edit before it would run on data Red should have spilled raw.
  checkPipeline: (_config, { index }) => (index === 0 ? undefined : 'somatic must be the first processor of its pipeline (move it to the front of processors)'),
  create(settings, config, signal, next) {
    const runtime = settings.pressure.provide(runtimeSettings(config), settings.logger, settings.id.id);
    if (settings.pipelineId !== undefined) runtime.govern(settings.pipelineId, { ...config.optional_processors, [settings.id.id]: false });
    return new SomaticProcessor(settings, config, signal, next, runtime);
  },
};
