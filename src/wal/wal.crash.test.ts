/**
 * Crash test: a child process appends under load and is SIGKILLed at random moments; after each kill the
 * WAL is reopened and every append the child saw resolve must be present and intact (unless the child
 * had acknowledged it, which allows its deletion). SIGKILL keeps the kernel's page cache, so this checks
 * the process-crash path (recovery, torn writes of an interrupted writev, ledger atomicity); power loss
 * is simulated by the model test's tearing of the unsynced tail.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpTakesDirectIo } from '../../test/helpers/direct-io.js';
import { WriteAheadLog } from './index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** O_DIRECT where asked for and the temp dir's file system takes it; else the page cache. */
const DIRECT_OK = await tmpTakesDirectIo();
const expectedMode = (io: 'direct' | 'buffered'): string => (io === 'direct' && DIRECT_OK ? 'direct' : 'buffered');
/** bench/wal-soak.mjs sets this to kill the child many more times than CI does (3-5). */
const SOAK_KILLS = Number(process.env.WAL_CRASH_KILLS ?? 0);
const root = join(here, '..', '..');
let buildDir: string;
let walModuleUrl: string;

function payload(id: number): Buffer {
  const size = 16 + ((id * 7919) % 3000);
  const b = Buffer.alloc(size);
  b.writeUInt32BE(id, 0);
  for (let i = 4; i < size; i++) b[i] = (id + i * 13) & 0xff;
  return b;
}

beforeAll(async () => {
  // Compile just the WAL (and what it imports) so the child runs the current source as plain JS,
  // independent of the state of dist/ and of other folders' work in progress.
  // Inside node_modules, so the compiled files resolve their packages (the logger's pino) from the project.
  buildDir = await mkdtemp(join(root, 'node_modules', '.gs-wal-build-'));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(
    process.execPath,
    [
      tsc,
      '--outDir',
      buildDir,
      '--rootDir',
      join(root, 'src'),
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--types',
      'node',
      '--skipLibCheck',
      join(here, 'index.ts'),
    ],
    { cwd: root },
  );
  walModuleUrl = pathToFileURL(join(buildDir, 'wal', 'index.js')).href;
}, 60_000);

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

interface ChildRun {
  resolved: Map<number, number>; // seq -> id
  acked: Set<number>;
  /** Records the child's reader got back with other bytes than were appended, or skipped as corrupt. */
  misread: string[];
  /** Records the child's reader got back and checked. */
  verified: number;
  /** How the child's WAL wrote: 'direct' (O_DIRECT) or 'buffered'. */
  mode: string;
}

async function runChildUntilKilled(
  dir: string,
  firstId: number,
  killAfterMs: number,
  whileRunning?: (pid: number) => Promise<void>,
  io: 'direct' | 'buffered' = 'direct',
): Promise<ChildRun> {
  const child = spawn(process.execPath, [join(here, 'wal-crash-child.mjs'), walModuleUrl, dir, 'interval', io], {
    env: { ...process.env, FIRST_ID: String(firstId) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (text += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  // Wait until the child has seen an append resolve (on a busy machine that can take longer than the
  // run below), then let it run for a while under load.
  while (!/\nr \d+ \d+\n/.test(text)) {
    if (child.exitCode !== null) throw new Error(`crash child exited early: ${text}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await whileRunning?.(child.pid!);
  await new Promise((r) => setTimeout(r, killAfterMs));
  child.kill('SIGKILL');
  await exited;
  const run: ChildRun = { resolved: new Map(), acked: new Set(), misread: [], verified: 0, mode: '' };
  // Only complete lines count: a line cut by the kill reports nothing.
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
    const parts = line.split(' ');
    if (parts[0] === 'r') run.resolved.set(Number(parts[2]), Number(parts[1]));
    else if (parts[0] === 'a') run.acked.add(Number(parts[1]));
    else if (parts[0] === 'bad') run.misread.push(`${parts[1]} ${parts[2]}`);
    else if (parts[0] === 'v') run.verified += Number(parts[1]);
    else if (parts[0] === 'mode') run.mode = parts[1]!;
  }
  return run;
}

describe('WriteAheadLog directory lock (child process)', () => {
  it('a second process cannot open a directory in use; after the holder is killed it can', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gs-wal-lock-'));
    try {
      let refusal: unknown;
      const run = await runChildUntilKilled(dir, 1, 50, async (pid) => {
        refusal = await WriteAheadLog.open({ dir }).then(
          async (w) => {
            await w.close();
            return undefined;
          },
          (e: unknown) => e,
        );
        expect((refusal as Error | undefined)?.message).toMatch(
          new RegExp(`WAL directory .* is in use by process ${pid} .*LOCK.*give each gateway its own directory`),
        );
      });
      expect(refusal).toBeDefined();
      // The holder died with its LOCK file in place: the next open takes the directory over and finds every
      // record the holder saw resolve.
      const wal = await WriteAheadLog.open({ dir });
      const seen = new Set<number>();
      for (let recs = await wal.read(4096, 64 << 20); recs.length > 0; recs = await wal.read(4096, 64 << 20)) for (const r of recs) seen.add(r.sequence);
      for (const seq of run.resolved.keys()) if (!run.acked.has(seq)) expect(seen.has(seq)).toBe(true);
      await wal.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('WriteAheadLog crash recovery (child process, SIGKILL)', () => {
  // O_DIRECT segments (the default) and the page cache; the child fails to start if it got the other.
  for (const io of ['direct', 'buffered'] as const)
    it(
      `keeps every append the killed process saw resolve, across repeated kills (${io} writes)`,
      async () => {
        const dir = await mkdtemp(join(tmpdir(), 'gs-wal-crash-'));
        try {
          const mustHave = new Map<number, number>(); // seq -> id, resolved and never acked
          let verified = 0;
          const kills = SOAK_KILLS || 3 + Math.floor(Math.random() * 3);
          for (let k = 0; k < kills; k++) {
            const run = await runChildUntilKilled(dir, (k + 1) * 10_000_000, 150 + Math.floor(Math.random() * 350), undefined, io);
            expect(run.resolved.size).toBeGreaterThan(0);
            expect(run.mode).toBe(expectedMode(io));
            expect(run.misread, 'records the child read back while appending').toEqual([]);
            verified += run.verified;
            for (const [seq, id] of run.resolved) mustHave.set(seq, id);
            for (const seq of run.acked) mustHave.delete(seq);

            const wal = await WriteAheadLog.open({ dir, segmentSizeBytes: 512 * 1024 });
            const found = new Map<number, Buffer>();
            for (let recs = await wal.read(); recs.length > 0; recs = await wal.read()) {
              for (const r of recs) found.set(r.sequence, Buffer.from(r.data));
            }
            expect(wal.stats().corruptRecordsSkipped).toBe(0);
            for (const [seq, id] of mustHave) {
              const data = found.get(seq);
              expect(data, `resolved record seq ${seq} (id ${id}) missing after kill ${k + 1}`).toBeDefined();
              expect(data!.equals(payload(id))).toBe(true);
            }
            // Close without acking: the next child gets everything again (at-least-once).
            await wal.close();
          }
          expect(mustHave.size).toBeGreaterThan(0);
          expect(verified).toBeGreaterThan(0);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
      Math.max(30_000, SOAK_KILLS * 4000),
    );
});

/** Runs wal-roll-fail-child.mjs under a small descriptor limit; returns its JSON report. */
async function runRollFailChild(io: 'direct' | 'buffered'): Promise<{
  mode: string;
  resolved2: unknown;
  segments: number;
  live: Record<string, number>;
  reopened: Record<string, number>;
  resolved3: unknown;
  after: Record<string, number>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'gs-wal-rollfail-'));
  try {
    const { stdout } = await promisify(execFile)(
      'sh',
      ['-c', 'ulimit -n 128 && exec "$0" "$@"', process.execPath, join(here, 'wal-roll-fail-child.mjs'), walModuleUrl, dir, io],
      { timeout: 20_000 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('WriteAheadLog roll whose directory fsync fails (child process, EMFILE)', () => {
  it('keeps writing the active segment with O_DIRECT: the record that asked for the roll is delivered once it resolved', async () => {
    const r = await runRollFailChild('direct');
    expect(r.mode).toBe(expectedMode('direct'));
    expect(r.segments, 'the roll did not fail').toBe(1);
    expect(r.resolved2).toBe(2);
    expect(r.live).toEqual({ 2: 2 });
  }, 30_000);

  for (const io of ['direct', 'buffered'] as const)
    it(`leaves no empty next segment behind, so a reopen keeps the resolved record and its sequence (${io} writes)`, async () => {
      const r = await runRollFailChild(io);
      expect(r.mode).toBe(expectedMode(io));
      expect(r.segments, 'the roll did not fail').toBe(1);
      expect(r.resolved2).toBe(2);
      expect(r.reopened).toEqual({ 2: 2 });
      expect(r.resolved3).toBe(3);
      expect(r.after).toEqual({ 3: 3 });
    }, 30_000);
});
