/** What the loadbalancing exporter's test files share: building an exporter from YAML, waiting for a condition. */
import { expect } from 'vitest';
import { testSettings } from '../../test/helpers/otlp-test-servers.js';
import { loadBalancingExporterFactory } from './factory.js';
import { LoadBalancingExporter } from './loadbalancing-exporter.js';

/** Retries quick enough for a test. */
export const fastRetry = { initial_interval: '20ms', max_interval: '50ms', max_elapsed_time: '20s' };

/** An exporter from its YAML (as an object) with test settings; `cleanups` closes its telemetry. */
export function makeExporter(
  cleanups: (() => Promise<void> | void)[],
  yaml: Record<string, unknown>,
  lookup?: (h: string) => Promise<string[]>,
  id = 'loadbalancing',
): LoadBalancingExporter {
  const issues: { path: string[]; message: string }[] = [];
  const cfg = loadBalancingExporterFactory.config.parse(yaml, [], issues);
  expect(issues).toEqual([]);
  const settings = testSettings(id, 'exporter');
  const exp = new LoadBalancingExporter(settings, cfg, lookup);
  cleanups.push(() => settings.telemetry.close());
  return exp;
}
