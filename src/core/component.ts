/**
 * The component model, after the OpenTelemetry Collector's: every component type has a factory with a
 * typed default config (its schema), and every instance has a start/shutdown lifecycle.
 */
import type { Logger } from '../telemetry/logger.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { WireOffloadPool } from '../processorhelper/offload.js';
import type { PressureSlot } from '../somatic/slot.js';
import type { QueueFillRegistry } from '../exporterhelper/fill.js';
import type { Consumer } from './consumer.js';
import type { ComponentMetadata } from './metadata.js';
import type { Schema } from './schema.js';
import type { Signal } from './signal.js';

export type ComponentKind = 'receiver' | 'processor' | 'exporter' | 'extension' | 'connector';

/** A component ID `type[/name]` as written in the config. */
export interface ComponentId {
  readonly type: string;
  readonly name: string;
  /** The ID as written: `otlp` or `otlp/2`. */
  readonly id: string;
}

export function parseComponentId(id: string): ComponentId | undefined {
  const m = /^([a-z][a-z0-9_]*)(?:\/([^/\s]+))?$/.exec(id);
  if (!m) return undefined;
  return { type: m[1]!, name: m[2] ?? '', id };
}

/** What the service gives a running component. */
export interface Host {
  /** Asks the service to stop because a component cannot go on (e.g. a listener failed after start). */
  reportFatalError(err: Error): void;
  /**
   * A running extension by its ID as written in `service.extensions` (`bearertokenauth/tenant`), as the
   * collector's host.GetExtensions: how a receiver or exporter finds its authenticator or storage.
   * Extensions start before every other component, so this answers from a component's start().
   */
  getExtension(id: string): Extension | undefined;
  /**
   * What the service runs, as the collector's host tells its zpages: the pipelines with their
   * components, the extensions, and since when. Read when a page is asked for, never on a data path.
   */
  describe(): ServiceDescription;
}

/** The running service's composition (Host.describe). */
export interface ServiceDescription {
  /** Each pipeline as configured: its ID (`logs/2`) and the IDs of its components in order. */
  readonly pipelines: readonly { id: string; receivers: readonly string[]; processors: readonly string[]; exporters: readonly string[] }[];
  /** The IDs of `service.extensions`, in start order. */
  readonly extensions: readonly string[];
  /** When the service started (epoch ms), and its health now. */
  readonly startedAt: number;
  readonly health: string;
}

export interface Component {
  start(host: Host): Promise<void>;
  /**
   * Stops taking work and drains what it holds. The service bounds the wait with its own deadline and
   * passes it (epoch ms), so a component that must put data aside before it is abandoned knows when.
   */
  shutdown(deadlineAt?: number): Promise<void>;
}

export interface CreateSettings {
  readonly id: ComponentId;
  readonly kind: ComponentKind;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** For processors: the pipeline this instance serves (`logs`, `logs/2`); processors are one instance per pipeline. */
  readonly pipelineId?: string;
  /** The service's worker threads for wire edits (processors), when it has any. */
  readonly offload?: WireOffloadPool;
  /**
   * The service's pressure slot: the somatic processor provides the zone, admission gate and memory
   * ledger into it; receivers (the gate), bypass stages (the zone) and exporters (the ledger) read them.
   */
  readonly pressure: PressureSlot;
  /** The service's exporter sending-queue fill levels: queues register here, the somatic controller reads them. */
  readonly queueFills: QueueFillRegistry;
}

export type Receiver = Component;
export type Extension = Component;
export interface Processor extends Component, Consumer {}
export interface Exporter extends Component, Consumer {}
/** The exporter end of a connector: what the upstream pipeline hands its data to. */
export interface Connector extends Component, Consumer {}

/** A factory carries its component's metadata (type, stability, metrics...: its folder's metadata.ts). */
interface FactoryBase<C> extends ComponentMetadata {
  /** The config schema: defaults, validation and the generated reference docs all come from it. */
  readonly config: Schema<C>;
  /**
   * What stops this component, so configured, from serving in this pipeline (an exporter with no URL for
   * its signal, a match property the signal does not have, a processor that must come first), or
   * undefined. Config validation asks it for every pipeline that lists the component, so `validate`
   * catches what would otherwise fail at start or, worse, only when data arrives.
   */
  checkPipeline?(config: C, pipeline: PipelinePlace): string | undefined;
}

/**
 * Where a component is listed: its pipeline's signal, its index in the pipeline's list of its kind, and
 * `service.workers` as written (`auto` or a count): a component that must see all of a kind of data in
 * one process (tail_sampling: whole traces) refuses several worker processes.
 */
export interface PipelinePlace {
  signal: Signal;
  index: number;
  workers: string;
}

export interface ReceiverFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'receiver';
  readonly signals: readonly Signal[];
  /** One instance per receiver ID, feeding one consumer per signal it serves in some pipeline. */
  create(settings: CreateSettings, config: C, next: Partial<Record<Signal, Consumer>>): Receiver;
}

export interface ProcessorFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'processor';
  readonly signals: readonly Signal[];
  /**
   * Whether the somatic Yellow zone may bypass this processor (enrichment and edits: yes; processors
   * whose absence changes what leaves or leaks, such as filter and redaction: no). Config may override.
   */
  readonly skippableUnderPressure: boolean;
  /** One instance per pipeline that lists it. */
  create(settings: CreateSettings, config: C, signal: Signal, next: Consumer): Processor;
}

export interface ExporterFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'exporter';
  readonly signals: readonly Signal[];
  /** One instance per exporter ID, shared by every pipeline that lists it; payloads carry their signal. */
  create(settings: CreateSettings, config: C): Exporter;
}

export interface ExtensionFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'extension';
  create(settings: CreateSettings, config: C): Extension;
}

/** Where a connector sits in the graph: the signal it takes, the signal it emits, and the pipelines it feeds. */
export interface ConnectorPlace {
  from: Signal;
  to: Signal;
  /** The pipelines (of signal `to`) that list the connector among their receivers. */
  pipelines: readonly string[];
}

/**
 * A connector (the collector's connector): an exporter of one pipeline and a receiver of others, e.g.
 * `forward`, `routing`, `count`. One instance per connector ID and (from, to) signal pair in use.
 */
export interface ConnectorFactory<C = unknown> extends FactoryBase<C> {
  readonly kind: 'connector';
  /** Whether it can take `from` data (as an exporter) and emit `to` data (as a receiver). */
  supports(from: Signal, to: Signal): boolean;
  /** What stops this connector, so configured, from serving at this place in the graph, or undefined. */
  checkGraph?(config: C, place: ConnectorPlace): string | undefined;
  /** `next`: each pipeline it feeds (its ID) and that pipeline's entry. */
  create(settings: CreateSettings, config: C, place: ConnectorPlace, next: ReadonlyMap<string, Consumer>): Connector;
}

export type AnyFactory = ReceiverFactory<any> | ProcessorFactory<any> | ExporterFactory<any> | ExtensionFactory<any> | ConnectorFactory<any>;
