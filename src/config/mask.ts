/**
 * The config as print-config shows it: every value a component's schema marks opaque (tokens,
 * passwords, private keys, exporter headers) replaced by [REDACTED], as the collector prints
 * configopaque strings. Env variables are expanded before this, so a secret given as ${env:TOKEN} is
 * masked too.
 */
import type { ValidatedConfig } from './validate.js';

const SECTIONS = ['receivers', 'processors', 'exporters', 'extensions'] as const;

export function maskSecrets(raw: Record<string, unknown>, config: ValidatedConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const section of SECTIONS) {
    const components = raw[section];
    if (typeof components !== 'object' || components === null) continue;
    const masked: Record<string, unknown> = {};
    for (const [id, value] of Object.entries(components)) {
      const c = config[section].get(id);
      masked[id] = c ? c.factory.config.mask(value) : value;
    }
    out[section] = masked;
  }
  return out;
}
