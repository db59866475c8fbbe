/**
 * How full the exporters' sending queues of one service are, for the somatic controller: started queues
 * register a fill function here, and the controller reads `fullest()` on its timer (no event, no shared
 * flag polled by the data path). The service owns one and hands it to every component in its create
 * settings (`CreateSettings.queueFills`), so two services in one process never see each other's queues.
 */
export class QueueFillRegistry {
  private readonly fills = new Map<object, { exporter: string; fill: () => number }>();

  /** Called by a started queue; returns the function that unregisters it (on shutdown). */
  register(exporter: string, fill: () => number): () => void {
    const key = {};
    this.fills.set(key, { exporter, fill });
    return () => {
      this.fills.delete(key);
    };
  }

  /**
   * The fullest sending queue, 0..1: for a memory queue waiting requests / queue_size; for a WAL queue the
   * larger of pending records / queue_size and disk bytes / max_size_mib. 0 when no queue runs.
   */
  readonly fullest = (): number => {
    let max = 0;
    for (const { fill } of this.fills.values()) {
      const f = fill();
      if (f > max) max = f;
    }
    return Math.min(1, max);
  };
}
