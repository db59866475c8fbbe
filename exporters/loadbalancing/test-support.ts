/** What the loadbalancing exporter's test files share: building an exporter from YAML (not part of the build: tsconfig.json excludes test-support.ts). */
import { testSettings } from '../../test/helpers/otlp-test-servers.js';
import { validConfig } from '../../test/helpers/component-config.js';
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
  const cfg = validConfig(loadBalancingExporterFactory, yaml);
  const settings = testSettings(id, 'exporter');
  const exp = new LoadBalancingExporter(settings, cfg, lookup);
  cleanups.push(() => settings.telemetry.close());
  return exp;
}
