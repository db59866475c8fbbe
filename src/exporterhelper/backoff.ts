/**
 * The collector's exponential backoff (cenkalti/backoff as exporterhelper configures it): the interval
 * starts at initial_interval and grows by `multiplier` up to max_interval; each wait is drawn uniformly
 * from [interval*(1-f), interval*(1+f)] with f = randomization_factor.
 */
import type { RetryConfig } from './config.js';

export class Backoff {
  private interval: number;

  constructor(
    private readonly cfg: Pick<RetryConfig, 'initial_interval' | 'randomization_factor' | 'multiplier' | 'max_interval'>,
    private readonly random: () => number = Math.random,
  ) {
    this.interval = cfg.initial_interval;
  }

  /** The next wait in ms, and advances the interval. */
  next(): number {
    const f = this.cfg.randomization_factor;
    const delta = f * this.interval;
    const min = this.interval - delta;
    const wait = min + this.random() * (2 * delta);
    this.interval = Math.min(this.interval * this.cfg.multiplier, this.cfg.max_interval);
    return wait;
  }

  /** The current (not yet randomized) interval. */
  get currentInterval(): number {
    return this.interval;
  }
}
