/**
 * The memory_limiter processor, after the collector's: memory in use is measured every check_interval;
 * above the soft limit (limit - spike) data is refused with a retryable error, above the hard limit a full
 * collection is forced. The refusal happens twice over: the service's admission gate (src/somatic/gate.ts),
 * which this processor configures, refuses a request before its body is read when it does not fit under
 * the soft limit (HTTP 503 + Retry-After, gRPC UNAVAILABLE + RetryInfo), and the processor refuses what
 * reaches it while the last measurement is above the soft limit, as the collector's does.
 */
import type { Counter } from 'prom-client';
import type { Consumer } from '../../src/core/consumer.js';
import type { CreateSettings, Host, Processor } from '../../src/core/component.js';
import { RetryableError, componentLabel } from '../../src/core/errors.js';
import { collectGarbage } from '../../src/core/gc.js';
import type { Payload } from '../../src/pdata/payload.js';
import type { Signal } from '../../src/core/signal.js';
import type { SomaticRuntime } from '../../src/somatic/index.js';
import { limitsOf, type MemoryLimiterProcessorConfig } from './config.js';
import { sharedCounter } from '../../src/telemetry/metrics.js';
import { METRICS } from './metadata.js';

/** The collector's words for the refusal, so log searches written for it still match. */
export const REFUSED_MESSAGE = 'data refused due to high memory usage';

export class MemoryLimiterProcessor implements Processor {
  private readonly hard: number;
  private readonly soft: number;
  /** Whether the last check found memory in use above the soft limit. */
  private refusing = false;
  private lastCollect = -Infinity;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private readonly collections: Counter<string>;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: MemoryLimiterProcessorConfig,
    private readonly signal: Signal,
    private readonly next: Consumer,
    private readonly runtime: SomaticRuntime,
  ) {
    ({ hard: this.hard, soft: this.soft } = limitsOf(config));
    // One counter per service registry: every memory_limiter of the service shares it (labelled by processor).
    this.collections = sharedCounter(settings.telemetry.registry, METRICS.forcedCollections);
  }

  /** Memory in use as the limiter sees it: V8 heap used + external (Buffers), from the last check. */
  get usedBytes(): number {
    return this.runtime.values.heap * this.runtime.settings.memoryLimitBytes;
  }

  get limits(): { hard: number; soft: number } {
    return { hard: this.hard, soft: this.soft };
  }

  async start(_host?: Host): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.runtime.acquire();
    this.unsubscribe = this.runtime.onTick(() => this.onCheck());
    this.settings.logger.info('memory limiter started', {
      limit_mib: Math.round(this.hard / 2 ** 20),
      soft_limit_mib: Math.round(this.soft / 2 ** 20),
      check_interval_ms: this.config.check_interval,
    });
  }

  /** Called after every ambient check: the collector's state machine over memory in use. */
  onCheck(now = Date.now()): void {
    const used = this.usedBytes;
    const above = used >= this.soft;
    if (above !== this.refusing) {
      this.refusing = above;
      const fields = { used_mib: Math.round(used / 2 ** 20), soft_limit_mib: Math.round(this.soft / 2 ** 20), limit_mib: Math.round(this.hard / 2 ** 20) };
      if (above) this.settings.logger.warn('memory usage is above the soft limit; refusing data', fields);
      else this.settings.logger.info('memory usage is back below the soft limit; accepting data', fields);
    }
    if (!above) return;
    const interval = used >= this.hard ? this.config.min_gc_interval_when_hard_limited : this.config.min_gc_interval_when_soft_limited;
    if (now - this.lastCollect >= interval) {
      this.lastCollect = now;
      if (collectGarbage()) this.collections.inc({ processor: this.settings.id.id });
    }
  }

  consume(payload: Payload): Promise<void> {
    if (this.refusing) {
      return Promise.reject(
        new RetryableError(
          `${componentLabel(this.settings)}: ${REFUSED_MESSAGE} (${Math.round(this.usedBytes / 2 ** 20)} MiB in use, soft limit ${Math.round(this.soft / 2 ** 20)} MiB)`,
          { retryAfterMs: 1000, code: 'GS_MEMORY_LIMIT' },
        ),
      );
    }
    return this.next.consume(payload);
  }

  async shutdown(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.unsubscribe?.();
    this.runtime.release();
  }
}
