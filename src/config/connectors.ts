/**
 * The pipeline graph's connector rules, as the collector's: a connector is used as an exporter of some
 * pipeline and a receiver of another, each use has a partner of a signal the connector can connect, the
 * connector accepts its place (checkGraph), and the pipelines joined by connectors form no cycle (data
 * would go round forever); a cycle is reported with the pipelines and connectors on it.
 */
import type { ConnectorFactory, ConnectorPlace } from '../core/component.js';
import type { Signal } from '../core/signal.js';
import type { ComponentConfig, PipelineConfig } from './validate.js';

type ConnectorConfig = ComponentConfig & { factory: ConnectorFactory };

/** The places (signal pairs) where each connector is used, and the pipelines each pair feeds. */
export function connectorPlaces(connId: string, factory: ConnectorFactory, pipelines: readonly PipelineConfig[]): ConnectorPlace[] {
  const froms = new Set(pipelines.filter((p) => p.exporters.includes(connId)).map((p) => p.signal));
  const places: ConnectorPlace[] = [];
  for (const from of froms) {
    const bySignal = new Map<Signal, string[]>();
    for (const p of pipelines) {
      if (!p.receivers.includes(connId) || !factory.supports(from, p.signal)) continue;
      bySignal.set(p.signal, [...(bySignal.get(p.signal) ?? []), p.id]);
    }
    for (const [to, ids] of bySignal) places.push({ from, to, pipelines: ids });
  }
  return places;
}

export function checkConnectors(
  connectors: ReadonlyMap<string, ConnectorConfig>,
  pipelines: readonly PipelineConfig[],
  report: (path: string[], message: string) => void,
): void {
  for (const [id, c] of connectors) {
    const asExporter = pipelines.filter((p) => p.exporters.includes(id));
    const asReceiver = pipelines.filter((p) => p.receivers.includes(id));
    if (asExporter.length === 0 && asReceiver.length === 0) continue;
    if (asExporter.length === 0 || asReceiver.length === 0) {
      report(
        ['connectors', id],
        `connector "${id}" must be listed as an exporter of one pipeline and a receiver of another; it is only a${asExporter.length === 0 ? ' receiver' : 'n exporter'}`,
      );
      continue;
    }
    for (const p of asExporter) {
      if (!asReceiver.some((q) => c.factory.supports(p.signal, q.signal))) {
        report(
          ['service', 'pipelines', p.id, 'exporters'],
          `connector "${id}" cannot take ${p.signal} to any pipeline that receives from it (${asReceiver.map((q) => q.id).join(', ')})`,
        );
      }
    }
    for (const q of asReceiver) {
      if (!asExporter.some((p) => c.factory.supports(p.signal, q.signal))) {
        report(
          ['service', 'pipelines', q.id, 'receivers'],
          `connector "${id}" cannot emit ${q.signal} from any pipeline that exports to it (${asExporter.map((p) => p.id).join(', ')})`,
        );
      }
    }
    for (const place of connectorPlaces(id, c.factory, pipelines)) {
      const problem = c.factory.checkGraph?.(c.config, place);
      if (problem) report(['connectors', id], problem);
    }
  }
  const cycle = findCycle(connectors, pipelines);
  if (cycle) report(['service', 'pipelines', cycle[0]!], `connectors form a cycle: ${cycle.join(' -> ')}; data would go round forever`);
}

/** Edges pipeline -> connector -> pipeline; returns a cycle as [pipeline, connector, pipeline, ..., first pipeline]. */
export function findCycle(connectors: ReadonlyMap<string, ConnectorConfig>, pipelines: readonly PipelineConfig[]): string[] | undefined {
  const edges = new Map<string, { via: string; to: string }[]>();
  for (const p of pipelines) {
    const out: { via: string; to: string }[] = [];
    for (const e of p.exporters) {
      const c = connectors.get(e);
      if (!c) continue;
      for (const q of pipelines) if (q.receivers.includes(e) && c.factory.supports(p.signal, q.signal)) out.push({ via: e, to: q.id });
    }
    edges.set(p.id, out);
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'open');
    for (const { via, to } of edges.get(id) ?? []) {
      stack.push(id, via);
      if (state.get(to) === 'open') {
        const start = stack.indexOf(to);
        return [...stack.slice(start), to];
      }
      if (state.get(to) === undefined) {
        const found = visit(to);
        if (found) return found;
      }
      stack.length -= 2;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const p of pipelines) {
    if (state.get(p.id) !== undefined) continue;
    const found = visit(p.id);
    if (found) return found;
  }
  return undefined;
}

/** Pipelines in an order where every pipeline comes after all the pipelines it feeds through connectors. */
export function downstreamFirst(connectors: ReadonlyMap<string, ComponentConfig>, pipelines: readonly PipelineConfig[]): PipelineConfig[] {
  const byId = new Map(pipelines.map((p) => [p.id, p]));
  const done = new Set<string>();
  const out: PipelineConfig[] = [];
  const visit = (p: PipelineConfig): void => {
    if (done.has(p.id)) return;
    done.add(p.id);
    for (const e of p.exporters) {
      const c = connectors.get(e);
      if (!c) continue;
      for (const q of pipelines) if (q.receivers.includes(e) && (c.factory as ConnectorFactory).supports(p.signal, q.signal)) visit(byId.get(q.id)!);
    }
    out.push(p);
  };
  for (const p of pipelines) visit(p);
  return out;
}
