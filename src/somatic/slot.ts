/**
 * The service's pressure slot: where the somatic runtime of one service lives, and how every component
 * that acts on pressure finds it. The service creates one slot and hands it to every component in its
 * create settings (`CreateSettings.pressure`):
 *  - the somatic processor provides the runtime into it (`provide`) when it is created: it is first in its
 *    pipeline, so it is created after the processors behind it and before every receiver;
 *  - receivers read the admission gate from it (they are created after every processor), the service's
 *    bypass stages read the zone once the pipelines are built, and exporters read the memory ledger when
 *    they hold or read back bytes (they are created before any processor, so they read it at use).
 * Without a somatic processor the slot stays empty: no gate, no ledger, no zone other than Green.
 */
import type { MemoryLedger } from '../core/memory-ledger.js';
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { AdmissionGate } from './gate.js';
import { SomaticRuntime, type SomaticSettings } from './runtime.js';
import type { RatioSource } from './sensors.js';

export class PressureSlot {
  private rt: SomaticRuntime | undefined;
  /** Copies of a request the processors of each pipeline make (noteCopyingStage), by pipeline ID. */
  private readonly copiesByPipeline = new Map<string, number>();

  /**
   * @param telemetry the service's telemetry, where the runtime's metrics go.
   * @param exporterQueues the fullest exporter sending queue of the service (its QueueFillRegistry).
   */
  constructor(
    private readonly telemetry: Telemetry,
    private readonly exporterQueues: RatioSource = () => 0,
  ) {}

  /**
   * The service's runtime, created by the first somatic processor that asks. Later callers with different
   * settings get the first one (the service has one zone), and a warning says so.
   */
  provide(settings: SomaticSettings, logger: Logger, who: string): SomaticRuntime {
    const existing = this.rt;
    if (existing) {
      if (JSON.stringify(existing.settings) !== JSON.stringify(settings)) {
        logger.warn("a second somatic processor has different zone settings; the service has one zone, so the first somatic processor's settings apply", {
          processor: who,
        });
      }
      return existing;
    }
    const rt = new SomaticRuntime(settings, this.telemetry, logger);
    // The fullest exporter sending queue: waiting requests against queue_size and, for a WAL queue, disk
    // bytes against max_size_mib too (a queue of few large requests fills its disk budget first).
    rt.exporterQueues.add(this.exporterQueues);
    this.rt = rt;
    this.applyCopies();
    return rt;
  }

  /**
   * A processor that rewrites request bytes says so when it is created, with the copies of a request it
   * makes (a wire edit: its output; on a worker thread, the worker's copy too). The admission gate counts
   * a request as its body plus every copy its pipeline makes (the gate is the service's: the pipeline that
   * makes the most sets it), so that what it admits cannot take RSS past the limit once copied. Measured
   * under the processors flood of test/rss-flood.test.ts on a loaded machine (bench/rss-breakdown.mjs,
   * bench/RESULTS.md): counting the body alone, the event loop stalled for a second while requests it had
   * admitted were copied and edited, and RSS went from 239 to 282 MiB past a 256 MiB limit; counting 3,
   * peaks 216-229 MiB in 16 runs at a load average of 16 but 256-264 in 3 of 9 at 20-25; counting 4 or 5
   * (this pipeline's body and four copies), 216-225 MiB at 21-25.
   */
  noteCopyingStage(pipelineId: string, copies: number): void {
    this.copiesByPipeline.set(pipelineId, (this.copiesByPipeline.get(pipelineId) ?? 0) + copies);
    this.applyCopies();
  }

  private applyCopies(): void {
    this.rt?.setRequestCopies(1 + Math.max(0, ...this.copiesByPipeline.values()));
  }

  /** The somatic runtime, once a somatic processor provided it. */
  get runtime(): SomaticRuntime | undefined {
    return this.rt;
  }

  /** The admission gate receivers ask before reading a body, when a somatic processor is configured. */
  get gate(): AdmissionGate | undefined {
    return this.rt?.gate;
  }

  /** The service's memory ledger (the admission gate), when a somatic processor sets a memory limit. */
  get ledger(): MemoryLedger | undefined {
    return this.rt?.gate;
  }
}
