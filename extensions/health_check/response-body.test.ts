import { describe, expect, it } from 'vitest';
import { testSettings } from '../../test/helpers/otlp-test-servers.js';
import { healthCheckExtensionFactory } from './factory.js';
import type { HealthCheckExtension } from './health-check.js';

function make(raw: Record<string, unknown>) {
  const issues: { path: string[]; message: string }[] = [];
  const config = healthCheckExtensionFactory.config.parse({ endpoint: '127.0.0.1:0', ...raw }, [], issues);
  return { config, issues: issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
}

describe('health_check', () => {
  it('response_body: the configured text while serving (200) and while not (503)', async () => {
    const { config, issues } = make({ path: '/health', response_body: { healthy: 'I am well', unhealthy: 'I am not' } });
    expect(issues).toEqual([]);
    const settings = testSettings('health_check', 'extension');
    const ext = healthCheckExtensionFactory.create(settings, config) as HealthCheckExtension;
    await ext.start();
    try {
      const url = `http://127.0.0.1:${ext.port}/health`;
      const starting = await fetch(url);
      expect([starting.status, await starting.text()]).toEqual([503, 'I am not']);
      settings.telemetry.health = 'serving';
      const serving = await fetch(url);
      expect([serving.status, await serving.text()]).toEqual([200, 'I am well']);
    } finally {
      await ext.shutdown();
      settings.telemetry.close();
    }
  });

  it('check_collector_pipeline answers not supported yet unless disabled', () => {
    expect(make({ check_collector_pipeline: { enabled: false } }).issues).toEqual([]);
    // The collector's README and testdata write the section's defaults beside enabled: false.
    expect(make({ check_collector_pipeline: { enabled: false, interval: '5m', exporter_failure_threshold: 5 } }).issues).toEqual([]);
    expect(make({ check_collector_pipeline: { enabled: true, interval: '5m', exporter_failure_threshold: 5 } }).issues).toEqual([
      'check_collector_pipeline: not supported yet by GopherShip (turns the health answer unhealthy after too many exporter failures in an interval (deprecated in the collector))',
    ]);
  });
});
