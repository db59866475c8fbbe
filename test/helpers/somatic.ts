import { DEFAULT_THRESHOLDS, type SomaticSettings } from '../../src/somatic/runtime.js';

/** Zone settings for a SomaticRuntime built in a test: a 512 MiB limit, a 100-byte in-flight budget, checks every 100 ms. */
export function testSomaticSettings(over: Partial<SomaticSettings> = {}): SomaticSettings {
  return {
    memoryLimitBytes: 512 * 2 ** 20,
    inflightBudgetBytes: 100,
    admitMemoryRatio: 1,
    checkIntervalMs: 100,
    minDwellMs: 1000,
    leaveRatio: 0.8,
    fallIntakeRatio: 0.7,
    thresholds: DEFAULT_THRESHOLDS,
    forceZone: undefined,
    ...over,
  };
}
