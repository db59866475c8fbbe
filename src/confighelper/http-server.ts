/**
 * The collector's HTTP server settings (confighttp.ServerConfig) this gateway shares across components:
 * TLS, CORS, the timeouts that bound slow clients, and limits on headers, connections and the bytes in
 * flight. One schema shape and one server constructor, so every HTTP server takes the same keys.
 */
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { s } from '../core/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { corsSchema } from './cors.js';
import { tlsServerSchema, type TlsServerConfig } from './tls-config.js';
import { ServerTlsReloader, describeClientHandshakeError, loadServerTls } from './tls.js';

const MIB = 1024 * 1024;

/**
 * Keys that bound what a slow or abusive client can hold, shared by the HTTP and gRPC servers.
 * `read_stall_timeout` and `max_in_flight_bytes` are the gateway's own (the collector has no such keys).
 */
export function clientLimitShape() {
  return {
    max_connections: s
      .int(0)
      .default(0)
      .describe('Most client connections this server holds at once; a connection beyond it is closed on accept (0: no limit).'),
    read_stall_timeout: s
      .duration()
      .default(60_000)
      .describe(
        "A request body (HTTP) or request message (gRPC) that receives no bytes for this long is dropped and its memory freed (0: never). The default matches the collector's read_header_timeout.",
      ),
    max_in_flight_bytes: s
      .int(0)
      .default(128 * MIB)
      .describe(
        "Most request bytes this server holds at once, counted from each request's declared size before its bytes are read (bodies being read, and requests in the pipeline). Past it requests are refused as retryable (HTTP 503 + Retry-After, gRPC UNAVAILABLE with RetryInfo); a request alone is always let in. Applies with or without a somatic processor. 0: no limit.",
      ),
  };
}

/** The HTTP server keys (confighttp.ServerConfig) besides endpoint and what the component owns. */
export function httpServerShape() {
  return {
    tls: s.presence(tlsServerSchema()).describe("Serve HTTPS only (the collector's configtls server settings); absent: plaintext."),
    cors: corsSchema().describe("Cross-origin requests from browsers (the collector's cors settings)."),
    read_timeout: s
      .duration()
      .default(0)
      .describe('Longest time to read a whole request, headers and body (0: no limit beyond read_header_timeout and read_stall_timeout).'),
    read_header_timeout: s
      .duration()
      .default(60_000)
      .describe("Longest time to read a request's headers; a client dribbling headers (slowloris) is disconnected after it. 0: read_timeout."),
    write_timeout: s
      .duration()
      .default(30_000)
      .describe("Longest time from a request's headers to the end of its response, as Go's server counts it; past it the connection is closed (0: no limit)."),
    idle_timeout: s.duration().default(60_000).describe('How long a kept-alive connection may wait for its next request (0: read_timeout).'),
    keep_alives_enabled: s.bool().default(true).describe('false: close each connection after its response (HTTP keep-alive off).'),
    keepalive: s
      .presence(
        s.object({
          enabled: s.bool().default(true).describe('false: close each connection after its response (HTTP keep-alive off).'),
          idle_timeout: s.duration().default(0).describe('How long a kept-alive connection may wait for its next request; set, it replaces idle_timeout.'),
        }),
      )
      .describe("HTTP keep-alive (the collector's newer form of keep_alives_enabled and idle_timeout)."),
    max_request_header_size: s
      .int(1024, 1024 * MIB)
      .default(64 * 1024)
      .describe('Largest request line plus headers in bytes; larger ones get 431.'),
    ...clientLimitShape(),
  };
}

export interface HttpServerSettings {
  tls: TlsServerConfig | undefined;
  read_timeout: number;
  read_header_timeout: number;
  write_timeout: number;
  idle_timeout: number;
  keep_alives_enabled: boolean;
  keepalive: { enabled: boolean; idle_timeout: number } | undefined;
  max_request_header_size: number;
  max_connections: number;
}

/**
 * Creates the node:http (or node:https with `tlsOptions`) server for `handler`, with the settings' limits.
 * Node enforces the header and request timeouts on a sweep; its interval follows the smallest timeout so a
 * slow client is dropped close to its deadline.
 */
export function createHttpServer(cfg: HttpServerSettings, tlsOptions: tls.TlsOptions | undefined, handler: http.RequestListener, logger: Logger): http.Server {
  const headersTimeout = cfg.read_header_timeout || cfg.read_timeout;
  // Node needs headersTimeout <= requestTimeout when both are set.
  const requestTimeout = cfg.read_timeout > 0 ? Math.max(cfg.read_timeout, headersTimeout) : 0;
  const smallest = Math.min(...[headersTimeout, requestTimeout].filter((t) => t > 0), 30_000);
  const options: http.ServerOptions = {
    maxHeaderSize: cfg.max_request_header_size,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: cfg.keepalive?.idle_timeout || cfg.idle_timeout || cfg.read_timeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(smallest / 4))),
  };
  const keepAlive = cfg.keep_alives_enabled && (cfg.keepalive?.enabled ?? true);
  const served: http.RequestListener = keepAlive
    ? handler
    : (req, res) => {
        // Node then answers `Connection: close` and closes the connection after the response.
        res.shouldKeepAlive = false;
        handler(req, res);
      };
  const onRequest: http.RequestListener = cfg.write_timeout > 0 ? withWriteTimeout(served, cfg.write_timeout) : served;
  const server = tlsOptions ? https.createServer({ ...options, ...tlsOptions }, onRequest) : http.createServer(options, onRequest);
  if (cfg.max_connections > 0) server.maxConnections = cfg.max_connections;
  if (tlsOptions) watchHandshakes(server as https.Server, logger);
  return server;
}

/** Closes a connection whose response has not ended `ms` after its request's headers arrived. */
function withWriteTimeout(handler: http.RequestListener, ms: number): http.RequestListener {
  return (req, res) => {
    const timer = setTimeout(() => {
      if (!res.writableFinished) req.socket.destroy();
    }, ms);
    res.once('close', () => clearTimeout(timer));
    handler(req, res);
  };
}

/** How often (at most) a refused TLS handshake is logged at warn; the rest are counted into the next line. */
const HANDSHAKE_LOG_INTERVAL_MS = 10_000;

/** Logs refused TLS handshakes (no client certificate, unknown CA, plaintext client) without flooding the log. */
export function watchHandshakes(server: tls.Server, logger: Logger): void {
  let last = 0;
  let suppressed = 0;
  server.on('tlsClientError', (err, socket) => {
    const now = Date.now();
    if (now - last < HANDSHAKE_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    last = now;
    logger.warn('refused a TLS connection', {
      reason: describeClientHandshakeError(err, socket),
      ...(suppressed > 0 ? { more_refused_since_last_line: suppressed } : {}),
    });
    suppressed = 0;
  });
}

/** A small endpoint's server (health, self-metrics) and, over TLS, the reloader of its certificate. */
export interface EndpointServer {
  server: http.Server;
  /** On shutdown: stops re-reading the certificate files and closes the server and every connection (kept-alive ones too). */
  close(): Promise<void>;
}

/**
 * The plain HTTP server of an endpoint without `tls`, or with it an HTTPS-only server with the shared TLS
 * settings: certificate files re-read every reload_interval, refused handshakes logged. `keyPath` names
 * the tls section in errors (e.g. `service.telemetry.metrics.tls`).
 */
export async function createEndpointServer(
  tlsCfg: TlsServerConfig | undefined,
  keyPath: string,
  handler: http.RequestListener,
  logger: Logger,
): Promise<EndpointServer> {
  if (!tlsCfg) return endpointServer(http.createServer(handler), () => {});
  const tlsOptions = await loadServerTls(tlsCfg, keyPath);
  const server = https.createServer(tlsOptions, handler);
  watchHandshakes(server, logger);
  const reloader = new ServerTlsReloader(tlsCfg, keyPath, () => [server], logger, tlsOptions);
  reloader.start();
  return endpointServer(server, () => reloader.stop());
}

function endpointServer(server: http.Server, stopReload: () => void): EndpointServer {
  return {
    server,
    close: () => {
      stopReload();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
