/**
 * A component under test outside a Service: its config parsed from a raw object as the loader parses it,
 * and CreateSettings (testSettings) whose telemetry is closed after each test.
 */
import { afterEach, expect } from 'vitest';
import type { ComponentKind } from '../../src/core/component.js';
import type { ConfigIssue, Schema } from '../../src/core/schema.js';
import { testSettings } from './otlp-test-servers.js';

/** `raw` parsed by a factory's config schema: the config and the problems found (none: a valid config). */
export function parseConfig<C>(factory: { readonly config: Schema<C> }, raw: unknown): { cfg: C; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const cfg = factory.config.parse(raw, [], issues);
  return { cfg, issues };
}

/** `raw` parsed by a factory's config schema, which must find no problem. */
export function validConfig<C>(factory: { readonly config: Schema<C> }, raw: unknown): C {
  const { cfg, issues } = parseConfig(factory, raw);
  expect(issues).toEqual([]);
  return cfg;
}

const open: ReturnType<typeof testSettings>[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.telemetry.close();
});

/** testSettings whose telemetry is closed once the current test is over. */
export function settingsForTest(id: string, kind: ComponentKind = 'exporter'): ReturnType<typeof testSettings> {
  const settings = testSettings(id, kind);
  open.push(settings);
  return settings;
}
