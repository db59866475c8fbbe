/**
 * Old-generation headroom for a gateway that moves bytes.
 *
 * V8 counts external memory (Buffers) allocated since the last full GC against the old generation's
 * allocation limit, and it sets that limit at 1.1-4x the live heap, picking a low factor when the JS heap
 * itself grows slowly. A gateway's JS heap is small (~15 MB) and grows slowly while request bodies pass
 * through at hundreds of MB/s, so the in-flight bodies alone keep crossing a limit only a few MB above the
 * heap: measured in bench/ (passthrough-http), ~15 full mark-compacts per second, 30 % of the gateway's CPU,
 * for ~0.5 MB of JS garbage each. The bodies die young anyway; the full GCs find nothing to free.
 *
 * So, while the live heap is small, the governor asks V8 for a growth factor that leaves a fixed absolute
 * slack above it (`--heap-growing-percent`, read by V8 each time it recomputes the limit): at most
 * SLACK_BYTES (and never more than a sixteenth of the memory budget) of extra heap before a full GC,
 * instead of a factor of the heap. Once the heap is larger than that slack, or while a service is under
 * memory pressure (the somatic memory room under the admission line is less than the slack), the flag is
 * cleared and V8's own heuristics decide again. A user who sets --heap-growing-percent themselves (NODE_OPTIONS or the
 * node command line) keeps their value: the governor then does nothing.
 */
import v8 from 'node:v8';

/** Extra old-generation room the governor asks for: above what in-flight bodies churn between young GCs. */
export const SLACK_BYTES = 64 * 1024 * 1024;
/** Growth percent above which the governor does not go (a 10x heap is already 640 MB at 64 MB of live heap). */
const MAX_PERCENT = 900;
/** Below this the slack needs a factor V8 picks by itself (1.1-4x), so the governor leaves it to V8. */
const MIN_PERCENT = 100;
/** How often the live heap is re-read. */
const INTERVAL_MS = 1000;

/** The extra old-generation room the governor asks for under a memory budget of `budgetBytes`. */
export function slackBytesFor(budgetBytes: number): number {
  return Math.min(SLACK_BYTES, budgetBytes / 16);
}

/**
 * The --heap-growing-percent that gives `slack` bytes above a live heap of `heapUsed` bytes, or 0 (V8's own
 * heuristics) when the heap is too large for a fixed slack to matter.
 */
export function growthPercentFor(heapUsed: number, budgetBytes: number): number {
  const slack = slackBytesFor(budgetBytes);
  const percent = Math.round((100 * slack) / Math.max(heapUsed, 1));
  if (percent < MIN_PERCENT) return 0;
  return Math.min(percent, MAX_PERCENT);
}

/** True when the process was started with --heap-growing-percent (command line or NODE_OPTIONS). */
function userSetGrowth(): boolean {
  const flag = /--heap[-_]growing[-_]percent/;
  return process.execArgv.some((a) => flag.test(a)) || flag.test(process.env.NODE_OPTIONS ?? '');
}

interface Governed {
  /** The memory budget the slack must fit in. */
  budgetBytes(): number;
  /** True while the service is under pressure: then V8's own limit applies. */
  underPressure(): boolean;
}

/** One governor per process; every running service registers the memory budget it must respect. */
const budgets = new Map<object, Governed>();
let timer: NodeJS.Timeout | undefined;
let applied = 0;

function apply(): void {
  let budget = Infinity;
  let pressure = false;
  for (const b of budgets.values()) {
    budget = Math.min(budget, b.budgetBytes());
    pressure ||= b.underPressure();
  }
  const percent = budgets.size === 0 || pressure ? 0 : growthPercentFor(v8.getHeapStatistics().used_heap_size, budget);
  // A flag write is cheap but not free; move only on a real change (a tenth either way, or on/off).
  if (percent === applied || (percent !== 0 && applied !== 0 && Math.abs(percent - applied) < applied / 10)) return;
  applied = percent;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** What the governor has asked V8 for (0 = V8's own heuristics); for telemetry and tests. */
export function appliedGrowthPercent(): number {
  return applied;
}

/** Re-evaluates now (the somatic runtime, when the slack stops or starts fitting) rather than at the next 1 s tick. */
export function refreshHeapGrowth(): void {
  if (budgets.size > 0) apply();
}

/**
 * Starts governing for `owner` under `budgetBytes()` (the somatic memory limit, or V8's heap limit when
 * there is none); while `underPressure()` is true V8's own limit applies. Returns the release function:
 * the last release hands the limit back to V8.
 */
export function governHeapGrowth(owner: object, budgetBytes: () => number, underPressure: () => boolean = () => false): () => void {
  if (userSetGrowth()) return () => {};
  budgets.set(owner, { budgetBytes, underPressure });
  apply();
  if (!timer) {
    timer = setInterval(apply, INTERVAL_MS);
    timer.unref();
  }
  return () => {
    if (!budgets.delete(owner)) return;
    if (budgets.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
    apply();
  };
}
