/** Config text tests build on: an OTLP/HTTP receiver on an ephemeral port and a debug exporter. */

/** The receivers and exporters sections: OTLP/HTTP on 127.0.0.1:0, debug. */
export const OTLP_HTTP_AND_DEBUG = `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
exporters:
  debug:
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
