/**
 * The Yellow bypass, used by the service when it chains a pipeline: every processor is wrapped in a
 * stage that, when the somatic zone is not Green and the payload is not replayed debt, hands the payload
 * straight to that processor's next consumer. Whether a stage may bypass is settled once, after the
 * whole service is built (the somatic runtime exists only then); until then, and in pipelines without a
 * somatic processor, the stage always calls its processor.
 */
import type { Consumer } from '../core/consumer.js';
import type { Payload } from '../pdata/payload.js';
import type { SomaticRuntime } from './runtime.js';
import { GREEN, isReplay } from './zone.js';

export class BypassStage implements Consumer {
  private runtime: SomaticRuntime | undefined;
  private labels: { pipeline: string; processor: string } | undefined;

  constructor(
    private readonly processor: Consumer,
    private readonly next: Consumer,
    readonly pipelineId: string,
    readonly processorId: string,
    private readonly declaredSkippable: boolean,
  ) {}

  /** Settles whether this stage may bypass; called once the service's runtime (if any) exists. */
  bind(rt: SomaticRuntime | undefined): void {
    this.runtime = rt && rt.isBypassable(this.pipelineId, this.processorId, this.declaredSkippable) ? rt : undefined;
    this.labels = { pipeline: this.pipelineId, processor: this.processorId };
  }

  get bypassable(): boolean {
    return this.runtime !== undefined;
  }

  consume(payload: Payload): Promise<void> {
    const rt = this.runtime;
    if (rt !== undefined && rt.zone !== GREEN && !isReplay(payload.meta)) {
      // The receiver counted the items already (a cached wire scan), so counting costs nothing here.
      rt.bypassedItems.inc(this.labels!, payload.itemCount);
      return this.next.consume(payload);
    }
    return this.processor.consume(payload);
  }
}
