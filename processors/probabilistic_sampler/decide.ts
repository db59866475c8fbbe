/**
 * The sampling decision for one item, mode by mode, as the collector's sampler_mode.go makes it:
 *  - where randomness comes from (the FNV hash of seed + trace ID in hash_seed mode; an explicit `rv`,
 *    else the trace ID's low 56 bits, in the consistent modes; a hashed log attribute as the fallback),
 *  - which threshold applies (fixed for hash_seed and equalizing; the arriving probability times the
 *    ratio for proportional),
 *  - what an error does (fail_closed: never sample; else always sample).
 */
import type { ProbabilisticSamplerConfig } from './config.js';
import {
  ALWAYS_SAMPLE,
  NEVER_SAMPLE,
  hashSeedThreshold,
  probabilityToThreshold,
  thresholdLess,
  thresholdProbability,
  type Threshold,
} from '../../src/pdata/sampling.js';

/** Why an item's randomness or threshold could not be used (the collector's sampler errors). */
export const enum SamplerError {
  None = 0,
  Parse = 1,
  MissingRandomness = 2,
  InconsistentThreshold = 3,
  RandomnessInUse = 4,
  ThresholdInUse = 5,
}

export const ERROR_TEXT: Record<SamplerError, string> = {
  [SamplerError.None]: '',
  [SamplerError.Parse]: 'sampling information cannot be parsed',
  [SamplerError.MissingRandomness]: 'missing randomness',
  [SamplerError.InconsistentThreshold]: 'inconsistent arriving t-value: span should not have been sampled',
  [SamplerError.RandomnessInUse]: 'item has sampling randomness, equalizing or proportional mode recommended',
  [SamplerError.ThresholdInUse]: 'item has sampling threshold, equalizing or proportional mode recommended',
};

/** Where the randomness of an item came from: the collector's `policy` metric label. */
export type RandomnessSource = 'trace_id_hash' | 'trace_id_w3c' | 'sampling_randomness' | 'missing_randomness' | 'attribute';

/** The configured sampler: the mode's fixed parts, computed once. */
export class SamplerPlan {
  /** hash_seed randomness (FNV) rather than the OTel consistent kind. */
  readonly hashing: boolean;
  readonly never: boolean;
  readonly proportional: boolean;
  readonly hashSeed: number;
  readonly precision: number;
  readonly ratio: number;
  readonly failClosed: boolean;
  /** The threshold when nothing arrives with the item (for proportional: ratio times 1). */
  readonly fixed: Threshold;

  constructor(cfg: ProbabilisticSamplerConfig) {
    const pct = Math.min(cfg.sampling_percentage, 100);
    this.hashSeed = cfg.hash_seed;
    this.precision = cfg.sampling_precision;
    this.failClosed = cfg.fail_closed;
    this.ratio = Math.max(pct / 100, 2 ** -56);
    const hashThreshold = cfg.mode === 'hash_seed' ? hashSeedThreshold(pct) : undefined;
    // A percentage of 0, or one the 14-bit hash rounds to nothing, never samples (with the consistent
    // modes' randomness, as the collector's neverSampler).
    this.never = pct === 0 || (cfg.mode === 'hash_seed' && hashThreshold === undefined);
    this.hashing = !this.never && cfg.mode === 'hash_seed';
    this.proportional = !this.never && cfg.mode === 'proportional';
    if (this.never) this.fixed = NEVER_SAMPLE;
    else if (hashThreshold) this.fixed = hashThreshold;
    else this.fixed = probabilityToThreshold(this.ratio, this.precision).threshold;
  }

  /** The mode's threshold for an item that arrived with `arriving` (its th) or none. */
  decide(arriving: Threshold | undefined): Threshold {
    if (!this.proportional || arriving === undefined) return this.fixed;
    const r = probabilityToThreshold(thresholdProbability(arriving) * this.ratio, this.precision);
    // Below the smallest probability: simply not sampled.
    return r.error === 'range' ? NEVER_SAMPLE : r.threshold;
  }

  /** The threshold after an error: fail_closed drops the item, else it passes. */
  onError(): Threshold {
    return this.failClosed ? NEVER_SAMPLE : ALWAYS_SAMPLE;
  }
}

/**
 * A log record's `sampling_priority` value as a threshold: the value is a percentage (>= 100 always
 * samples); 0, a negative value or a non-numeric value gives no raise (never-sample threshold).
 */
export function priorityThreshold(percent: number | undefined, precision: number): Threshold {
  if (percent === undefined || !(percent > 0)) return NEVER_SAMPLE;
  const r = probabilityToThreshold(Math.min(percent / 100, 1), precision);
  return r.error === undefined ? r.threshold : NEVER_SAMPLE;
}

/** The lower of two thresholds (the higher probability). */
export function lowerThreshold(a: Threshold, b: Threshold): Threshold {
  return thresholdLess(b, a) ? b : a;
}
