/**
 * Fuzz targets that run in process: the OTLP/JSON codec, the wire validator, the wire editor (through the
 * attributes and redaction processors), the WAL reader (recovery and reads over a corrupted segment), the
 * config loader, and the decompressors (./decompress-target.ts). Each check throws when a promise is broken:
 * - nothing crashes: a parser refuses bad input with an Error, never with anything else;
 * - nothing accepted is unreadable: bytes a stage accepts or produces decode with protobuf-es, and their
 *   item count is the one the gateway reported.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseComponentId, type CreateSettings, type Processor, type ProcessorFactory } from '../../core/component.js';
import type { Consumer } from '../../core/consumer.js';
import type { Signal } from '../../core/signal.js';
import { decodeRequest, requestFromJsonPartial, type RequestMessage } from '../../pdata/codec.js';
import { Payload } from '../../pdata/payload.js';
import { validateByReference, validateRequest, validateRequestParts } from '../../pdata/validate.js';
import { countItems } from '../../pdata/wire.js';
import { applySet, parseConfigText, type ConfigProblem, type SourceLocation } from '../../config/load.js';
import { validateConfig } from '../../config/validate.js';
import { createRegistry } from '../../components.js';
import { silentLogger } from '../../telemetry/logger.js';
import { Telemetry } from '../../telemetry/telemetry.js';
import { WriteAheadLog } from '../../wal/index.js';
import { applyByteEdits, applyTextEdits, arbJsonText, arbProtoBytes, arbSignal, type Seeds } from './inputs.js';
import { QueueFillRegistry } from '../../exporterhelper/fill.js';
import { PressureSlot } from '../../somatic/slot.js';
import { decompressTarget } from './decompress-target.js';

export interface FuzzTarget<T = any> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Inputs that got past the first refusal (accepted, recovered, valid): shows the harness reaches deep. */
  accepted(): number;
  setup?(): Promise<void>;
  /** Resolves when the input was handled as promised; throws (with the reason) when not. */
  check(input: T): void | Promise<void>;
  teardown?(): Promise<void>;
}

export class BrokenPromise extends Error {
  override readonly name = 'BrokenPromise';
}

/** A parser's refusal must be an Error with a message; anything else is a crash. */
function refusedCleanly(err: unknown, what: string): void {
  if (!(err instanceof Error) || err.message === '' || err instanceof BrokenPromise) {
    throw err instanceof BrokenPromise ? err : new BrokenPromise(`${what} threw ${err instanceof Error ? `${err.name} without a message` : typeof err}`);
  }
  // A stack overflow is a crash waiting for a deeper input, whatever caught it.
  if (err instanceof RangeError && /call stack/i.test(err.message)) throw new BrokenPromise(`${what} overflowed the stack`);
}

/** Items of a decoded request, counted on the structure (not the wire). */
export function decodedItems(signal: Signal, msg: RequestMessage): number {
  let n = 0;
  const m = msg as any;
  if (signal === 'logs') for (const r of m.resourceLogs) for (const s of r.scopeLogs) n += s.logRecords.length;
  else if (signal === 'traces') for (const r of m.resourceSpans) for (const s of r.scopeSpans) n += s.spans.length;
  else for (const r of m.resourceMetrics) for (const s of r.scopeMetrics) for (const metric of s.metrics) n += metric.data?.value?.dataPoints?.length ?? 0;
  return n;
}

/** What a stage downstream of the gateway must be able to do with bytes the gateway accepted or made. */
export function assertReadable(signal: Signal, bytes: Uint8Array, items: number, what: string): void {
  let msg: RequestMessage;
  try {
    msg = decodeRequest(signal, bytes);
  } catch (err) {
    throw new BrokenPromise(`${what}: accepted ${bytes.length} bytes that protobuf-es cannot decode: ${(err as Error).message}`);
  }
  const decoded = decodedItems(signal, msg);
  if (decoded !== items) throw new BrokenPromise(`${what}: counted ${items} items where the decoded request holds ${decoded}`);
}

function jsonCodecTarget(seeds: Seeds): FuzzTarget<[Signal, string]> {
  let accepted = 0;
  return {
    name: 'json-codec',
    accepted: () => accepted,
    arbitrary: arbSignal.chain((signal) => arbJsonText(seeds, signal).map((text) => [signal, text] as [Signal, string])),
    check([signal, text]) {
      let bytes: Uint8Array;
      try {
        ({ bytes } = requestFromJsonPartial(signal, text));
      } catch (err) {
        refusedCleanly(err, 'requestFromJsonPartial');
        return;
      }
      // The receiver validates what the codec made; it must pass and decode.
      let items: number;
      try {
        items = validateRequest(signal, bytes);
      } catch (err) {
        throw new BrokenPromise(`the JSON codec produced protobuf its own validator refuses: ${(err as Error).message}`);
      }
      assertReadable(signal, bytes, items, 'json-codec');
      accepted++;
    },
  };
}

function validatorTarget(seeds: Seeds): FuzzTarget<[Signal, Uint8Array, number]> {
  let accepted = 0;
  return {
    name: 'wire-validator',
    accepted: () => accepted,
    arbitrary: arbSignal.chain((signal) => fc.tuple(fc.constant(signal), arbProtoBytes(seeds, signal), fc.nat())),
    check([signal, bytes, cut]) {
      // The fast walk and the reference walk (src/pdata/validate-fast.ts) must give one verdict.
      const verdict = (f: () => number): number | string => {
        try {
          return f();
        } catch (err) {
          return (err as Error).message;
        }
      };
      const fast = verdict(() => validateRequest(signal, bytes));
      const reference = verdict(() => validateByReference(signal, bytes));
      if (fast !== reference) throw new BrokenPromise(`the validator's fast walk says ${String(fast)}, its reference walk ${String(reference)}`);
      let items: number;
      try {
        items = validateRequest(signal, bytes);
      } catch (err) {
        refusedCleanly(err, 'validateRequest');
        // The same bytes held in two pieces (as an HTTP body arrives) must be refused too.
        const at = cut % (bytes.length + 1);
        try {
          validateRequestParts(signal, [bytes.subarray(0, at), bytes.subarray(at)], bytes.length);
        } catch {
          return;
        }
        throw new BrokenPromise('validateRequestParts accepted in two pieces what validateRequest refused whole');
      }
      if (items !== countItems(signal, bytes))
        throw new BrokenPromise(`validateRequest counted ${items} items, the wire count is ${countItems(signal, bytes)}`);
      assertReadable(signal, bytes, items, 'wire-validator');
      accepted++;
    },
  };
}

/** Keeps the payload a processor forwards. */
class Capture implements Consumer {
  last: Payload | undefined;
  async consume(p: Payload): Promise<void> {
    this.last = p;
  }
}

function editorTarget(seeds: Seeds): FuzzTarget<[Signal, Uint8Array]> {
  const telemetry = new Telemetry();
  const chains = new Map<Signal, { head: Processor; out: Capture }>();
  const registry = createRegistry();
  let accepted = 0;
  const queueFills = new QueueFillRegistry();
  const pressure = new PressureSlot(telemetry, queueFills.fullest);
  const settings = (id: string): CreateSettings => ({ id: parseComponentId(id)!, kind: 'processor', logger: silentLogger, telemetry, pressure, queueFills });
  const build = (signal: Signal) => {
    const out = new Capture();
    const redaction = registry.find('processor', 'redaction') as ProcessorFactory;
    const attributes = registry.find('processor', 'attributes') as ProcessorFactory;
    const redactionConfig = redaction.config.parse(
      { allowed_keys: ['k', 'service.name', 'a', 'fuzz.added'], blocked_values: ['[0-9]{3}', 'ab+c'], hash_function: 'sha1' },
      [],
      [],
    );
    const attributesConfig = attributes.config.parse(
      {
        actions: [
          { key: 'fuzz.added', value: 'added', action: 'insert' },
          { key: 'a', value: 42, action: 'upsert' },
          { key: 'service.name', action: 'hash' },
          { key: 'k', action: 'delete' },
          { key: 'i', action: 'convert', converted_type: 'string' },
        ],
      },
      [],
      [],
    );
    const tail = redaction.create(settings('redaction'), redactionConfig, signal, out);
    const head = attributes.create(settings('attributes'), attributesConfig, signal, tail);
    return { head, out };
  };
  return {
    name: 'wire-editor',
    accepted: () => accepted,
    arbitrary: arbSignal.chain((signal) => fc.tuple(fc.constant(signal), arbProtoBytes(seeds, signal))),
    async check([signal, bytes]) {
      let items: number;
      try {
        items = validateRequest(signal, bytes);
      } catch {
        return; // The receiver refuses it: no editor ever sees it.
      }
      let chain = chains.get(signal);
      if (!chain) chains.set(signal, (chain = build(signal)));
      chain.out.last = undefined;
      try {
        await chain.head.consume(new Payload(signal, bytes, { itemCount: items }));
      } catch (err) {
        // The receiver acknowledged these bytes (in Red before any processor ran): a processor must take them.
        throw new BrokenPromise(
          `the attributes and redaction processors failed on a request the validator accepted: ${(err as Error)?.message ?? String(err)}`,
        );
      }
      const out = chain.out.last as Payload | undefined;
      if (!out) return;
      const edited = out.bytes;
      let count: number;
      try {
        count = validateRequest(signal, edited);
      } catch (err) {
        throw new BrokenPromise(`the wire editor produced a request the validator refuses: ${(err as Error).message}`);
      }
      if (out.itemCount !== count) throw new BrokenPromise(`the edited payload says ${out.itemCount} items, its bytes hold ${count}`);
      assertReadable(signal, edited, count, 'wire-editor');
      accepted++;
    },
    async teardown() {
      telemetry.close();
    },
  };
}

function walTarget(seeds: Seeds): FuzzTarget<Parameters<typeof applyByteEdits>[1]> {
  let dir = '';
  let pristine = '';
  let segment = '';
  let pristineBytes: Uint8Array = new Uint8Array(0);
  const appended = new Set<string>();
  let accepted = 0;
  return {
    name: 'wal-reader',
    accepted: () => accepted,
    // Edits of the segment file: byte flips, cuts, inserted junk, copied records, truncation.
    arbitrary: fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ op: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
        fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
        fc.record({ op: fc.constant('copy' as const), from: fc.nat(), to: fc.nat(), length: fc.integer({ min: 1, max: 600 }) }),
        fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
    async setup() {
      // On tmpfs where there is one: recovery fsyncs what it repairs, and this target tests the reading of
      // damaged segments, not the disk.
      dir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'gs-fuzz-wal-'));
      const src = join(dir, 'src');
      const wal = await WriteAheadLog.open({ dir: src, directIo: false, fsync: 'never', segmentSizeBytes: 1 << 20 });
      const records = [...seeds.proto.logs, ...seeds.proto.traces, ...seeds.proto.metrics, Buffer.from('a short record'), Buffer.alloc(300, 7)];
      for (const [i, r] of records.entries()) {
        await wal.append(r, i % 2 === 0 ? i : undefined);
        appended.add(Buffer.from(r).toString('base64'));
      }
      await wal.close();
      const names = (await readdir(src)).filter((n) => n.endsWith('.wal'));
      if (names.length !== 1) throw new Error(`expected one segment, found ${names.length}`);
      segment = names[0]!;
      pristine = join(dir, 'pristine.wal');
      await copyFile(join(src, segment), pristine);
      pristineBytes = await readFile(pristine);
    },
    async check(edits) {
      const caseDir = join(dir, 'case');
      // Retried: the previous case's WAL may still be finishing a write when a timeout abandoned it.
      await rm(caseDir, { recursive: true, force: true, maxRetries: 5 });
      const mutated = applyByteEdits(pristineBytes, edits);
      await mkdir(caseDir);
      await writeFile(join(caseDir, segment), mutated);
      let wal: WriteAheadLog;
      try {
        wal = await WriteAheadLog.open({ dir: caseDir, directIo: false, fsync: 'never' });
      } catch (err) {
        throw new BrokenPromise(`the WAL cannot open after ${JSON.stringify(edits.map((e) => e.op))} of its segment: ${(err as Error).message}`);
      }
      try {
        let last = 0;
        for (let guard = 0; guard < 100; guard++) {
          const recs = await wal.read(64);
          if (recs.length === 0) break;
          for (const r of recs) {
            if (r.sequence <= last) throw new BrokenPromise(`the WAL returned sequence ${r.sequence} after ${last}`);
            last = r.sequence;
            if (!appended.has(r.data.toString('base64')))
              throw new BrokenPromise(`the WAL returned ${r.data.length} bytes that were never appended (sequence ${r.sequence})`);
            accepted++;
          }
        }
        // The recovered WAL takes appends again.
        await wal.append(Buffer.from('after recovery'));
      } finally {
        await wal.close();
      }
    },
    async teardown() {
      if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

function configTarget(configs: readonly string[]): FuzzTarget<[string, string]> {
  const registry = createRegistry();
  let accepted = 0;
  const textEdit = fc.record({
    at: fc.nat(),
    cut: fc.integer({ min: 0, max: 20 }),
    insert: fc.oneof(
      fc.constantFrom('', ':', '- ', '\n', '  ', '${env:X}', '${', '$$', '&a', '*a', '<<: *a', '!!binary', '[', '{', '"', '#', 'auth:\n', '0x', '1e999', '~'),
      fc.string({ maxLength: 10 }),
    ),
  });
  return {
    name: 'config-loader',
    accepted: () => accepted,
    // A config text and a --set assignment, as the CLI takes them (the file's reading is node:fs's).
    arbitrary: fc.tuple(
      fc.oneof(
        {
          weight: 6,
          arbitrary: fc.tuple(fc.constantFrom(...configs), fc.array(textEdit, { minLength: 1, maxLength: 4 })).map(([c, e]) => applyTextEdits(c, e)),
        },
        { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
      ),
      fc.oneof(
        fc.constant(''),
        fc.constantFrom('exporters::otlp::endpoint=x:1', 'service.telemetry.logs.level=debug', 'receivers.otlp.protocols.grpc.auth.authenticator=oidc'),
        fc.string({ maxLength: 30 }),
      ),
    ),
    check([text, set]) {
      try {
        const locations = new Map<string, SourceLocation>();
        const found = { problems: [] as ConfigProblem[], warnings: [] as ConfigProblem[] };
        const raw = parseConfigText(text, 'fuzz.yaml', { X: 'x' }, locations, found);
        if (set !== '') applySet(raw, set, locations, found, { X: 'x' });
        const result = validateConfig({ raw, locations, problems: found.problems, warnings: found.warnings }, registry);
        if (!result.ok && result.problems.length === 0) throw new BrokenPromise('validation failed without naming a problem');
        if (result.ok) accepted++;
      } catch (err) {
        throw err instanceof BrokenPromise
          ? err
          : new BrokenPromise(`the config loader threw instead of reporting a problem: ${(err as Error)?.message ?? String(err)}`);
      }
    },
  };
}

export function localTargets(seeds: Seeds, configs: readonly string[]): FuzzTarget[] {
  return [jsonCodecTarget(seeds), validatorTarget(seeds), editorTarget(seeds), walTarget(seeds), configTarget(configs), decompressTarget(seeds)];
}
