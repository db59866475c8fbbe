/**
 * Profiles of this process through its own inspector (node:inspector): V8's sampling CPU profiler and its
 * sampling heap profiler. Each profile has an inspector session of its own: V8 keeps one profile per
 * session, so the whole-run profile of save_to_file runs beside a requested one, and a session that
 * disconnects takes its profiler down with it, whatever went wrong before.
 */
import { Session } from 'node:inspector/promises';
import type { Profiler, HeapProfiler } from 'node:inspector';
import { setTimeout as sleep } from 'node:timers/promises';

/** What an HTTP request may ask for: a CPU profile, the sampled heap still live at the end, or every sampled allocation. */
export type ProfileKind = 'cpu' | 'heap' | 'allocs';

/** V8's (and Chrome DevTools') default: one sample per 32 KiB allocated on average. */
const HEAP_SAMPLING_INTERVAL_BYTES = 32 * 1024;

/** Two startSampling flags Node 20's V8 takes that @types/node's protocol types do not list yet. */
interface CollectedObjectFlags {
  includeObjectsCollectedByMajorGC: boolean;
  includeObjectsCollectedByMinorGC: boolean;
}

export type TakenProfile = Profiler.Profile | HeapProfiler.SamplingHeapProfile;

/**
 * Takes one profile of `kind` over `ms`, or until `signal` aborts: then the profiler is stopped at once and
 * the profile discarded (undefined). `gc`: collect garbage before a heap profile ends (Go's `gc=1`), so it
 * shows only what is reachable.
 */
export async function takeProfile(kind: ProfileKind, ms: number, signal: AbortSignal, gc = false): Promise<TakenProfile | undefined> {
  const session = new Session();
  session.connect();
  try {
    if (kind === 'cpu') {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    } else {
      await session.post('HeapProfiler.enable');
      // allocs keeps the samples of objects collected since, as Go's allocs profile counts every allocation.
      const collectedToo = kind === 'allocs';
      const params: HeapProfiler.StartSamplingParameterType & CollectedObjectFlags = {
        samplingInterval: HEAP_SAMPLING_INTERVAL_BYTES,
        includeObjectsCollectedByMajorGC: collectedToo,
        includeObjectsCollectedByMinorGC: collectedToo,
      };
      await session.post('HeapProfiler.startSampling', params);
    }
    const completed = await sleep(ms, true, { signal }).catch(() => false);
    if (kind === 'cpu') {
      const { profile } = await session.post('Profiler.stop');
      return completed ? profile : undefined;
    }
    if (completed && gc && kind === 'heap') await session.post('HeapProfiler.collectGarbage');
    const { profile } = await session.post('HeapProfiler.stopSampling');
    return completed ? profile : undefined;
  } finally {
    session.disconnect();
  }
}

/** A CPU profile from start() to stop(): the whole run, for save_to_file. */
export class RunProfile {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    try {
      await this.session.post('Profiler.enable');
      await this.session.post('Profiler.start');
    } catch (err) {
      this.session.disconnect();
      throw err;
    }
  }

  /** Stops the profiler and returns what it recorded. */
  async stop(): Promise<Profiler.Profile> {
    try {
      return (await this.session.post('Profiler.stop')).profile;
    } finally {
      this.session.disconnect();
    }
  }
}
