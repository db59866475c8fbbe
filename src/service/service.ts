/**
 * Turns a validated config into running components and pipelines. Start order: self-telemetry,
 * extensions, exporters, connectors, processors, receivers (so nothing receives before its pipeline can take it).
 * Shutdown: receivers stop accepting and answer what they hold while processors drain (batch flushes),
 * then exporters flush, then extensions; all within one deadline.
 */
import type {
  Component,
  ComponentKind,
  ConnectorFactory,
  CreateSettings,
  Exporter,
  ExporterFactory,
  ExtensionFactory,
  Host,
  Processor,
  ProcessorFactory,
  ReceiverFactory,
} from '../core/component.js';
import { FanOutConsumer, type Consumer } from '../core/consumer.js';
import type { Signal } from '../core/signal.js';
import type { ComponentConfig, ValidatedConfig } from '../config/validate.js';
import { Logger } from '../telemetry/logger.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { metricLevel, metricNaming, metricsAddress } from '../telemetry/config.js';
import type { MetricNaming } from '../core/metric-naming.js';
import { BypassStage } from '../somatic/bypass.js';
import { TelemetryServer } from '../telemetry/server.js';
import { expositionOf, histogramBoundaries } from '../telemetry/exposition.js';
import { StatusSampler, registerStatusRoutes } from '../telemetry/status/index.js';
import { PressureSlot } from '../somatic/index.js';
import { QueueFillRegistry } from '../exporterhelper/fill.js';
import v8 from 'node:v8';
import { governHeapGrowth } from '../core/heap-growth.js';
import { componentError } from '../core/errors.js';
import { WireOffloadPool, workerThreadsFor } from '../processorhelper/offload.js';
import { connectorPlaces, downstreamFirst } from '../config/connectors.js';

export interface ServiceOptions {
  logger?: Logger;
  /** Called when a component reports a fatal error after start (the CLI exits non-zero). */
  onFatalError?: (err: Error) => void;
  /**
   * How its metrics are named, when not by its own config's reader: a worker process serves none (its
   * config has no reader), and names them as the primary's reader serves the sum.
   */
  metricNaming?: MetricNaming;
}

interface Running {
  kind: ComponentKind;
  id: string;
  component: Component;
}

export class Service {
  readonly telemetry: Telemetry;
  readonly logger: Logger;
  private readonly receivers: Running[] = [];
  private readonly processors: Running[] = [];
  private readonly exporters: Running[] = [];
  private readonly extensions: Running[] = [];
  private readonly connectors: Running[] = [];
  private telemetryServer: TelemetryServer | undefined;
  /** Samples the registry once a second for the /status page; runs only while the metrics port serves. */
  private status: StatusSampler | undefined;
  private stopping: Promise<void> | undefined;
  /** Hands the old-generation limit back to V8 (see heap-growth.ts). */
  private releaseHeapGrowth: (() => void) | undefined;
  /** Worker threads for processors' wire edits (service.processing.worker_threads); none at 0. */
  private readonly offload: WireOffloadPool | undefined;
  /** Exporter sending queues' fill levels, which the somatic controller reads. */
  private readonly queueFills = new QueueFillRegistry();
  /** Where the somatic processor (if any) provides the zone, admission gate and memory ledger. */
  readonly pressure: PressureSlot;

  constructor(
    private readonly config: ValidatedConfig,
    private readonly opts: ServiceOptions = {},
  ) {
    const metrics = config.service.telemetry.metrics;
    this.telemetry = new Telemetry(opts.metricNaming ?? metricNaming(metrics), metricLevel(metrics));
    // Before any component makes its histograms: a view's buckets are set when one is created.
    for (const [name, bounds] of histogramBoundaries(config, this.telemetry.naming)) this.telemetry.registry.histogramBuckets.set(name, bounds);
    this.pressure = new PressureSlot(this.telemetry, this.queueFills.fullest);
    this.logger = opts.logger ?? Logger.fromConfig(config.service.telemetry.logs, config.service.telemetry.resource);
    this.telemetry.describeResource(config.service.telemetry.resource);
    const threads = workerThreadsFor(config.service.processing.worker_threads);
    this.offload = threads > 0 ? new WireOffloadPool(threads, this.logger.child({ kind: 'service', id: 'processing' })) : undefined;
    this.offload?.instrument(this.telemetry.registry);
    this.build();
  }

  /** The receiver, processor, exporter or extension instance for an ID (tests read bound ports from it). */
  component<T extends Component = Component>(kind: ComponentKind, id: string): T | undefined {
    const list = { receiver: this.receivers, processor: this.processors, exporter: this.exporters, extension: this.extensions, connector: this.connectors }[
      kind
    ];
    return list.find((r) => r.id === id)?.component as T | undefined;
  }

  get metricsAddress(): string | undefined {
    return this.telemetryServer?.address;
  }

  private settings(kind: ComponentKind, c: ComponentConfig, pipelineId?: string): CreateSettings {
    const s: CreateSettings = {
      id: c.id,
      kind,
      logger: this.logger.child({ kind, id: c.id.id }),
      telemetry: this.telemetry,
      offload: kind === 'processor' ? this.offload : undefined,
      pressure: this.pressure,
      queueFills: this.queueFills,
    };
    return pipelineId === undefined ? s : { ...s, pipelineId };
  }

  private build(): void {
    const { config } = this;
    for (const extId of config.service.extensions) {
      const c = config.extensions.get(extId)!;
      this.extensions.push({ kind: 'extension', id: extId, component: (c.factory as ExtensionFactory).create(this.settings('extension', c), c.config) });
    }

    // One exporter instance per ID, shared by every pipeline (and signal) that lists it.
    const exporters = new Map<string, Exporter>();
    for (const p of config.service.pipelines) {
      for (const expId of p.exporters) {
        if (exporters.has(expId) || !config.exporters.has(expId)) continue;
        const c = config.exporters.get(expId)!;
        const exp = (c.factory as ExporterFactory).create(this.settings('exporter', c), c.config);
        exporters.set(expId, exp);
        this.exporters.push({ kind: 'exporter', id: expId, component: exp });
      }
    }

    // Each pipeline: processors chained back to front ending in a fan-out to its exporters. Each
    // processor sits behind a somatic bypass stage (src/somatic/bypass.ts): in a pipeline led by a somatic
    // processor, the Yellow and Red zones send payloads around the processors that declared themselves
    // skippable. The stages are bound once every processor exists (the somatic runtime is created by the
    // somatic processor, which is first in its pipeline and so created last).
    const entries = new Map<string, Consumer>();
    const stages: BypassStage[] = [];
    // A connector exports from one pipeline into the entries of others, so those are built first.
    for (const p of downstreamFirst(config.connectors, config.service.pipelines)) {
      let next: Consumer = new FanOutConsumer(p.exporters.flatMap((e) => (exporters.has(e) ? [exporters.get(e)!] : this.connectorsFor(e, p.signal, entries))));
      const created: Running[] = [];
      for (let i = p.processors.length - 1; i >= 0; i--) {
        const procId = p.processors[i]!;
        const c = config.processors.get(procId)!;
        const factory = c.factory as ProcessorFactory;
        const proc: Processor = factory.create(this.settings('processor', c, p.id), c.config, p.signal, next);
        created.unshift({ kind: 'processor', id: `${procId}@${p.id}`, component: proc });
        const stage = new BypassStage(proc, next, p.id, procId, factory.skippableUnderPressure);
        stages.push(stage);
        next = stage;
      }
      this.processors.push(...created);
      entries.set(p.id, next);
    }
    for (const stage of stages) stage.bind(this.pressure.runtime);

    // Each receiver feeds, per signal, every pipeline that lists it; each pipeline gets its own Payload.
    const receiverIds = new Set(config.service.pipelines.flatMap((p) => p.receivers.filter((r) => config.receivers.has(r))));
    for (const recId of receiverIds) {
      const next: Partial<Record<Signal, Consumer>> = {};
      for (const signal of ['logs', 'traces', 'metrics'] as const) {
        const targets = config.service.pipelines.filter((p) => p.signal === signal && p.receivers.includes(recId)).map((p) => entries.get(p.id)!);
        if (targets.length > 0) next[signal] = new FanOutConsumer(targets, true);
      }
      const c = config.receivers.get(recId)!;
      this.receivers.push({ kind: 'receiver', id: recId, component: (c.factory as ReceiverFactory).create(this.settings('receiver', c), c.config, next) });
    }
  }

  /**
   * The instances of connector `id` that take `from` data: one per signal it emits to pipelines that list
   * it as a receiver, each fed those pipelines' entries (built already: downstream pipelines come first).
   */
  private connectorsFor(id: string, from: Signal, entries: ReadonlyMap<string, Consumer>): Consumer[] {
    const c = this.config.connectors.get(id)!;
    const factory = c.factory as ConnectorFactory;
    return connectorPlaces(id, factory, this.config.service.pipelines)
      .filter((place) => place.from === from)
      .map((place) => {
        const next = new Map(place.pipelines.map((pid) => [pid, entries.get(pid)!]));
        const conn = factory.create(this.settings('connector', c), c.config, place, next);
        this.connectors.push({ kind: 'connector', id: `${id}@${place.from}->${place.to}`, component: conn });
        return conn;
      });
  }

  async start(): Promise<void> {
    this.telemetry.health = 'starting';
    const startedAt = Date.now();
    const host: Host = {
      reportFatalError: (err) => {
        this.logger.error('fatal component error; shutting down', { error: err });
        this.opts.onFatalError?.(err);
      },
      getExtension: (id) => this.extensions.find((r) => r.id === id)?.component,
      describe: () => ({
        pipelines: this.config.service.pipelines.map((p) => ({ id: p.id, receivers: p.receivers, processors: p.processors, exporters: p.exporters })),
        extensions: this.extensions.map((r) => r.id),
        startedAt,
        health: this.telemetry.health,
      }),
    };
    const metrics = this.config.service.telemetry.metrics;
    const started: Running[] = [];
    try {
      const address = metricsAddress(metrics);
      if (address !== '') {
        const exposition = expositionOf(this.config, this.telemetry.naming);
        for (const w of exposition.refusedPairings()) this.logger.warn(w);
        this.telemetryServer = new TelemetryServer(this.telemetry, address, this.logger, metrics.tls, exposition);
        this.status = new StatusSampler({ telemetry: this.telemetry, pipelines: this.config.service.pipelines });
        registerStatusRoutes(this.telemetryServer, this.status);
        await this.telemetryServer.start();
      }
      for (const group of [this.extensions, this.exporters, this.connectors, this.processors, this.receivers]) {
        for (const r of group) {
          // Errors about a component, at start and later, are named by its label (`exporter otlp/2: ...`).
          const own: Host = { ...host, reportFatalError: (err) => host.reportFatalError(componentError(r, err, 'GS_COMPONENT_FAILED')) };
          await r.component.start(own).catch((err: unknown) => {
            throw componentError(r, err, 'GS_COMPONENT_START_FAILED');
          });
          started.push(r);
        }
      }
    } catch (err) {
      // Undo what started so a failed start leaves no listener behind.
      for (const r of started.reverse()) await r.component.shutdown().catch(() => {});
      await this.offload?.close();
      await this.status?.stop();
      await this.telemetryServer?.close();
      this.telemetry.close();
      throw err;
    }
    this.status?.start();
    // The memory budget the governor's slack must fit: the somatic memory limit, else V8's own heap limit.
    const somatic = this.pressure.runtime;
    const heapLimit = v8.getHeapStatistics().heap_size_limit;
    this.releaseHeapGrowth = governHeapGrowth(
      this,
      () => somatic?.settings.memoryLimitBytes ?? heapLimit,
      // V8's tighter limit once the slack no longer fits in the memory left under the admission line.
      () => somatic !== undefined && !somatic.heapSlackFits,
    );
    this.telemetry.health = 'serving';
    this.logger.info('gateway started', {
      pipelines: this.config.service.pipelines.map((p) => p.id),
      metrics: this.telemetryServer?.address,
      worker_threads: this.offload?.running ?? 0,
    });
  }

  /** Drains and stops everything; components that miss the deadline are abandoned, and it says which. */
  shutdown(deadlineMs = 30_000): Promise<void> {
    this.stopping ??= this.doShutdown(deadlineMs);
    return this.stopping;
  }

  private async doShutdown(deadlineMs: number): Promise<void> {
    this.telemetry.health = 'draining';
    const deadline = Date.now() + deadlineMs;
    // Receivers and processors drain together: a request a receiver still holds may be waiting in a batch,
    // and a stopped batch processor passes late requests straight on. Exporters stop only after both.
    for (const group of [[...this.receivers, ...this.processors, ...this.connectors], this.exporters, this.extensions]) {
      await Promise.all(
        group.map(async (r) => {
          const left = Math.max(0, deadline - Date.now());
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), left);
          });
          try {
            const outcome = await Promise.race([r.component.shutdown(deadline).then(() => 'done' as const), timedOut]);
            if (outcome === 'timeout') this.logger.error('shutdown deadline passed; abandoning component', { kind: r.kind, id: r.id });
          } catch (err) {
            this.logger.error('component failed to shut down cleanly', { kind: r.kind, id: r.id, error: (err as Error).message });
          } finally {
            clearTimeout(timer);
          }
        }),
      );
    }
    // Every processor has drained: no edit is left for the workers.
    await this.offload?.close();
    await this.status?.stop();
    await this.telemetryServer?.close();
    this.releaseHeapGrowth?.();
    this.telemetry.health = 'stopped';
    this.telemetry.close();
    this.logger.info('gateway stopped');
  }
}
