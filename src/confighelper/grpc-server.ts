/**
 * The collector's gRPC server settings (configgrpc.ServerConfig) this gateway shares: TLS, keepalive
 * (server parameters and enforcement policy, with grpc-go's defaults) and the client limits, applied to
 * the sessions of a server built on Node's http2 module.
 */
import http2 from 'node:http2';
import { s, type ConfigOf } from '../core/schema.js';
import { clientLimitShape } from './http-server.js';
import { tlsServerSchema } from './tls-config.js';

export const keepaliveServerSchema = () =>
  s.object({
    server_parameters: s
      .object({
        max_connection_idle: s.duration().default(0).describe('Close a connection (GOAWAY) that has had no call for this long (0: never).'),
        max_connection_age: s
          .duration()
          .default(0)
          .describe(
            'Close a connection (GOAWAY) this long after it opened, give or take 10 % so clients do not reconnect all at once; its calls in flight finish. Load-balanced gateway tiers set it so long-lived clients spread to new replicas (0: never).',
          ),
        max_connection_age_grace: s
          .duration()
          .default(0)
          .describe('After max_connection_age, how long calls in flight may take before the connection is cut (0: as long as they need).'),
        time: s.duration().default(7_200_000).describe("Ping a client after this long without activity, to find dead connections (grpc-go's default, 2h)."),
        timeout: s.duration().default(20_000).describe('Close the connection when a ping is not answered within this.'),
      })
      .describe('How the server manages connections (grpc-go keepalive.ServerParameters).'),
    enforcement_policy: s
      .object({
        min_time: s
          .duration()
          .default(300_000)
          .describe("Least time between a client's pings; a client pinging more often is sent GOAWAY (too_many_pings) after two strikes, as grpc-go does."),
        permit_without_stream: s.bool().default(false).describe('Allow client pings on a connection with no call in flight.'),
      })
      .describe('What the server allows of client pings (grpc-go keepalive.EnforcementPolicy).'),
  });

export type KeepaliveServerConfig = ConfigOf<ReturnType<typeof keepaliveServerSchema>>;

/** The gRPC server keys (configgrpc.ServerConfig) besides endpoint and what the component owns. */
export function grpcServerShape() {
  return {
    tls: s.presence(tlsServerSchema()).describe("Serve gRPC over TLS only (the collector's configtls server settings); absent: plaintext (h2c)."),
    keepalive: keepaliveServerSchema().describe("Keepalive: connection ages, idle limits and pings (the collector's configgrpc keys)."),
    max_header_list_size: s
      .int(1024)
      .default(64 * 1024)
      .describe('Largest request header block (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE) in bytes; a larger one resets the stream.'),
    ...clientLimitShape(),
  };
}

/** Pings a client may send too early before it is told to go away (grpc-go allows two). */
const MAX_PING_STRIKES = 2;
/** The least gap between pings on a connection with no call, when permit_without_stream is false (grpc-go's). */
const NO_STREAM_PING_GAP_MS = 2 * 60 * 60 * 1000;
const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/**
 * Applies keepalive to one server session: closes it gracefully at its age (and cuts it after the
 * grace), when idle, when a ping goes unanswered, or when the client pings too often.
 */
export function applyKeepalive(session: http2.ServerHttp2Session, cfg: KeepaliveServerConfig, onLog: (message: string) => void): void {
  const p = cfg.server_parameters;
  const policy = cfg.enforcement_policy;
  const timers: NodeJS.Timeout[] = [];
  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(fn, ms);
    t.unref();
    timers.push(t);
    return t;
  };
  let active = 0;
  let lastActivity = Date.now();
  let idleTimer: NodeJS.Timeout | undefined;

  const goAway = (why: string): void => {
    if (session.closed || session.destroyed) return;
    onLog(why);
    // close() sends GOAWAY (NO_ERROR) and lets the calls in flight finish.
    session.close();
    if (p.max_connection_age_grace > 0) later(p.max_connection_age_grace, () => session.destroy());
  };

  if (p.max_connection_age > 0) {
    const jitter = 1 + (Math.random() * 0.2 - 0.1);
    later(Math.max(1, Math.round(p.max_connection_age * jitter)), () => goAway('max_connection_age reached'));
  }
  const armIdle = (): void => {
    if (p.max_connection_idle <= 0) return;
    idleTimer = later(p.max_connection_idle, () => goAway('max_connection_idle reached'));
  };
  armIdle();

  let strikes = 0;
  session.on('stream', (stream) => {
    active++;
    // As grpc-go, a ping strike is forgiven once the server has sent something (here: a call opened or ended).
    strikes = 0;
    lastActivity = Date.now();
    if (idleTimer) clearTimeout(idleTimer);
    stream.once('close', () => {
      active--;
      strikes = 0;
      lastActivity = Date.now();
      if (active === 0) armIdle();
    });
  });

  if (p.time > 0) {
    const interval = setInterval(
      () => {
        if (session.closed || session.destroyed) return;
        if (Date.now() - lastActivity < p.time) return;
        const deadline = setTimeout(() => session.destroy(new Error('keepalive ping not answered')), p.timeout > 0 ? p.timeout : 20_000);
        deadline.unref();
        const sent = session.ping((err) => {
          clearTimeout(deadline);
          if (!err) lastActivity = Date.now();
        });
        if (!sent) clearTimeout(deadline);
      },
      Math.max(1000, Math.min(p.time, 60_000)),
    );
    interval.unref();
    timers.push(interval);
  }

  let lastPing = 0;
  session.on('ping', () => {
    const now = Date.now();
    // Without a call in flight and without permit_without_stream, grpc-go allows one ping per 2 hours.
    const minGap = active === 0 && !policy.permit_without_stream ? Math.max(policy.min_time, NO_STREAM_PING_GAP_MS) : policy.min_time;
    const tooSoon = now - lastPing < minGap;
    lastPing = now;
    if (!tooSoon) return;
    if (++strikes > MAX_PING_STRIKES) {
      onLog('client pinged too often (keepalive.enforcement_policy); sent GOAWAY too_many_pings');
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      later(1000, () => session.destroy());
    }
  });

  session.once('close', () => {
    for (const t of timers) clearTimeout(t);
  });
}

/** How long a connection may take to open (TLS handshake and HTTP/2 preface) when read_stall_timeout is 0: grpc-go's ConnectionTimeout. */
const CONNECTION_OPEN_MS = 120_000;

/** How long a new connection may take for its TLS handshake and HTTP/2 preface: read_stall_timeout, or grpc-go's 120 s when that is 0. */
export function connectionOpenTimeout(readStallTimeout: number): number {
  return readStallTimeout > 0 ? readStallTimeout : CONNECTION_OPEN_MS;
}

/**
 * Destroys a session whose client has not sent its HTTP/2 preface (the SETTINGS frame) within `ms`, as
 * grpc-go drops a connection that does not finish opening. Node's http2 server holds such a connection for
 * ever; with max_connections a few silent ones would lock every client out.
 */
export function closeIfSilent(session: http2.ServerHttp2Session, ms: number): void {
  const timer = setTimeout(() => session.destroy(), ms);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  session.once('remoteSettings', clear);
  session.once('close', clear);
}
