/** Config text tests build on: the minimal OTLP/HTTP-into-debug text, and whole gateway configs built from their parts (gatewayYaml). */
import { stringify } from 'yaml';

/** The receivers and exporters sections: OTLP/HTTP on 127.0.0.1:0, debug. */
export const OTLP_HTTP_AND_DEBUG = `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
exporters:
  debug:
`;

/** The receivers section: the otlp receiver with OTLP/gRPC and OTLP/HTTP on 127.0.0.1:0 (a gateway child reports both addresses). */
export const OTLP_GRPC_AND_HTTP_RECEIVER = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
      http:
        endpoint: 127.0.0.1:0
`;

/** A whole config: OTLP/HTTP into debug in a logs pipeline; `service` adds keys under service (indented 2). */
export function logsToDebug(service = ''): string {
  return `${OTLP_HTTP_AND_DEBUG}service:
${service}  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug]
`;
}

/** A YAML map of component IDs to their settings (null: the component's defaults). */
type Components = Record<string, unknown>;

/** The otlp receiver's settings: each of `protocols` on 127.0.0.1:0, with `settings` (e.g. auth, include_metadata) on each. */
export function otlpReceiver(protocols: readonly ('grpc' | 'http')[] = ['http'], settings: Record<string, unknown> = {}): Record<string, unknown> {
  return { protocols: Object.fromEntries(protocols.map((p) => [p, { endpoint: '127.0.0.1:0', ...settings }])) };
}

/** The `auth` key of a receiver protocol or an exporter: authenticated by the extension `id`. */
export const authBy = (id: string): { auth: { authenticator: string } } => ({ auth: { authenticator: id } });

/** A pipeline: its receivers (default the otlp receiver), processors and exporters by ID. */
export interface PipelineParts {
  receivers?: string[];
  processors?: string[];
  exporters: string[];
}

export interface GatewayParts {
  extensions?: Components;
  /** Default: the otlp receiver on OTLP/HTTP only. */
  receivers?: Components;
  processors?: Components;
  exporters: Components;
  connectors?: Components;
  pipelines: Record<string, PipelineParts>;
  /** More keys under `service`; `telemetry` here replaces the default (self-metrics off). */
  service?: Record<string, unknown>;
}

/**
 * A whole gateway config as YAML text built from its parts: every extension given is enabled in
 * service.extensions, and the self-metrics are off (`level: none`: tests run side by side).
 */
export function gatewayYaml(parts: GatewayParts): string {
  const pipelines = Object.fromEntries(
    Object.entries(parts.pipelines).map(([id, p]) => [
      id,
      { receivers: p.receivers ?? ['otlp'], ...(p.processors ? { processors: p.processors } : {}), exporters: p.exporters },
    ]),
  );
  const config: Record<string, unknown> = {};
  if (parts.extensions) config.extensions = parts.extensions;
  config.receivers = parts.receivers ?? { otlp: otlpReceiver() };
  if (parts.processors) config.processors = parts.processors;
  config.exporters = parts.exporters;
  if (parts.connectors) config.connectors = parts.connectors;
  config.service = {
    ...(parts.extensions ? { extensions: Object.keys(parts.extensions) } : {}),
    telemetry: { metrics: { level: 'none' } },
    ...parts.service,
    pipelines,
  };
  // No anchors: a settings object given to several components is written out at each.
  return stringify(config, { aliasDuplicateObjects: false });
}

/** The attributes processor action that copies the client's `x-tenant` metadata into a `tenant` record attribute. */
export const TENANT_FROM_METADATA = { key: 'tenant', from_context: 'metadata.x-tenant', action: 'insert' };

/** The headers_setter header that sends the client's `x-tenant` on as X-Scope-OrgID (`anonymous` without one). */
export const ORG_ID_FROM_TENANT = { key: 'X-Scope-OrgID', from_context: 'x-tenant', default_value: 'anonymous' };

/** OTLP/HTTP into an otlp/backend exporter whose tls.ca_file (`caFile`) does not exist: the gateway cannot start. */
export function missingCaConfig(caFile: string): string {
  return gatewayYaml({
    exporters: { 'otlp/backend': { endpoint: '127.0.0.1:1', tls: { ca_file: caFile } } },
    pipelines: { logs: { exporters: ['otlp/backend'] } },
  });
}
