/**
 * The probabilistic_sampler processor's config: the collector-contrib keys and defaults
 * (processor/probabilisticsamplerprocessor/config.go and README).
 */
import { s, type ConfigOf } from '../../src/core/schema.js';

const base = s.object({
  sampling_percentage: s.number().default(0).describe("percentage of items sampled; >= 100 samples all, 0 none (the collector's default, 0, samples nothing)"),
  hash_seed: s
    .int(0, 0xffffffff)
    .default(0)
    .describe('seed of the FNV hash (hash_seed mode, and log attributes in the other modes); every gateway of one tier needs the same seed'),
  mode: s
    .enum('hash_seed', 'proportional', 'equalizing')
    .default('hash_seed')
    .describe(
      'hash_seed: the legacy FNV hash of seed + trace ID (14 bits); proportional: multiplies the arriving probability by the ratio (OTel th/rv, 56 bits); equalizing: lowers the arriving probability to the ratio',
    ),
  fail_closed: s.bool().default(true).describe('drop items whose sampling information cannot be read (no randomness, bad tracestate); false lets them through'),
  sampling_precision: s.int(1, 14).default(4).describe('hex digits of the threshold written as th (1..14)'),
  attribute_source: s
    .enum('traceID', 'record')
    .default('traceID')
    .describe('logs: where randomness comes from: the trace ID, or the record attribute from_attribute'),
  from_attribute: s
    .string()
    .default('')
    .describe('logs: the log record attribute hashed for randomness (with attribute_source: record, or when there is no trace ID)'),
  sampling_priority: s
    .string()
    .default('')
    .describe("logs: a log record attribute holding a percentage that raises this record's sampling probability (0: never sample)"),
});

export const probabilisticSamplerConfig = s.refine(base, (c, path, issues) => {
  const pct = c.sampling_percentage;
  if (!Number.isFinite(pct)) issues.push({ path: [...path, 'sampling_percentage'], message: `sampling rate is invalid: ${pct}%` });
  else if (pct < 0) issues.push({ path: [...path, 'sampling_percentage'], message: `sampling rate is negative: ${pct}%; use 0..100` });
  else if (pct > 0 && pct / 100 < 2 ** -56)
    issues.push({ path: [...path, 'sampling_percentage'], message: `sampling rate is too small: ${pct}% (the least is 2^-56)` });
  if (c.attribute_source === 'record' && c.from_attribute === '') {
    issues.push({ path: [...path, 'from_attribute'], message: 'is required when attribute_source is record: name the log record attribute to sample by' });
  }
});

export type ProbabilisticSamplerConfig = ConfigOf<typeof base>;
