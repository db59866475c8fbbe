/**
 * OTLP/HTTP exporter on node:http(s) with a keep-alive agent: protobuf bodies are the request bytes as
 * held (no decode), optionally compressed (gzip and zlib off the event loop, in zlib's thread pool;
 * zstd and snappy on it).
 */
import http from 'node:http';
import https from 'node:https';
import type { CreateSettings, Exporter, Host } from '../../src/core/component.js';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import { attemptTimeout } from '../../src/core/attempt-timeout.js';
import type { Payload } from '../../src/pdata/payload.js';
import { ExporterHelper } from '../../src/exporterhelper/index.js';
import { describeTlsError, loadClientTls } from '../../src/confighelper/tls.js';
import { HTTP_PATH, SIGNALS, type Signal } from '../../src/core/signal.js';
import { decodeExportResponsePartial, decodeStatus, requestToJson, type Encoding } from '../../src/pdata/codec.js';
import { isRetryableHttp } from '../../src/grpc/status.js';
import type { OtlphttpExporterConfig } from './config.js';
import { maskUrlCredentials } from '../../src/core/schema.js';
import { clientAuthenticatorOf, credentialValues, withoutCredentials, type ClientAuthenticator, type RequestMeta } from '../../src/core/auth.js';
import { compress, compressPieces, encodingName, prepareCompression } from '../../src/compression/index.js';

/** Error bodies are read up to this size; a Status is small and a proxy's HTML page need not be whole. */
const MAX_ERROR_BODY = 64 * 1024;
/** Export responses are at most 4 MiB by spec. */
const MAX_RESPONSE_BODY = 4 * 1024 * 1024;

/** The collector's rule: base + "v1/<signal>", with exactly one slash between. */
export function signalUrl(
  config: Pick<OtlphttpExporterConfig, 'endpoint' | 'logs_endpoint' | 'traces_endpoint' | 'metrics_endpoint'>,
  signal: Signal,
): string | undefined {
  const explicit = signal === 'logs' ? config.logs_endpoint : signal === 'traces' ? config.traces_endpoint : config.metrics_endpoint;
  if (explicit) return explicit;
  if (!config.endpoint) return undefined;
  return config.endpoint.replace(/\/+$/, '') + HTTP_PATH[signal];
}

/** Retry-After as delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

function encodingOf(contentType: string | undefined): Encoding {
  return contentType !== undefined && contentType.includes('json') ? 'json' : 'proto';
}

interface Target {
  url: string;
  options: http.RequestOptions;
  lib: typeof http | typeof https;
  /**
   * The request's headers but content-length, as the flat name/value list node:http stores without
   * building a header map (Host included, as node:http adds it only to a map): built once per URL.
   */
  headerList: readonly string[];
  /** Basic credentials from the URL's user:password@ (as Go's client sends them), unless a header sets authorization. */
  urlAuth: Record<string, string>;
}

/** The connection pool's settings from the top-level keys, or the keepalive section's where set. */
export function agentOptions(c: OtlphttpExporterConfig): http.AgentOptions {
  const k = c.keepalive;
  const maxConns = k.max_idle_conns ?? c.max_idle_conns;
  const idleTimeout = k.idle_conn_timeout ?? c.idle_conn_timeout;
  // An Agent's timeout closes a pooled connection idle that long (an in-flight request has its own deadline).
  return {
    keepAlive: k.enabled && !c.disable_keep_alives,
    maxSockets: maxConns,
    maxFreeSockets: (k.max_idle_conns_per_host ?? c.max_idle_conns_per_host) || maxConns,
    ...(idleTimeout > 0 ? { timeout: idleTimeout } : {}),
  };
}

export class OtlpHttpExporter implements Exporter {
  private readonly targets: Partial<Record<Signal, Target>> = {};
  private httpAgent: http.Agent | undefined;
  private httpsAgent: https.Agent | undefined;
  private readonly helper: ExporterHelper;
  private readonly contentType: string;
  private readonly baseHeaders: Record<string, string>;
  /** The client authenticator `auth` names (bearertokenauth, basicauth, headers_setter), found at start. */
  private authenticator: ClientAuthenticator | undefined;

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: OtlphttpExporterConfig,
  ) {
    this.helper = new ExporterHelper(settings, config, (p, s) => this.send(p, s), { timeoutMs: config.timeout });
    this.contentType = config.encoding === 'json' ? 'application/json' : 'application/x-protobuf';
    this.baseHeaders = { 'user-agent': 'gophership', ...lowerKeys(config.headers), 'content-type': this.contentType };
    if (config.compression !== 'none') this.baseHeaders['content-encoding'] = encodingName(config.compression);
  }

  async start(host?: Host): Promise<void> {
    const c = this.config;
    this.authenticator = clientAuthenticatorOf(host, c.auth, '');
    const keep = agentOptions(c);
    this.httpAgent = new http.Agent(keep);
    const secure = SIGNALS.some((signal) => signalUrl(c, signal)?.startsWith('https:'));
    // Certificates are read only when some URL is https:// (an http:// URL is plaintext whatever tls says).
    if (secure) this.httpsAgent = new https.Agent({ ...keep, ...(await loadClientTls(c.tls, 'tls')) });
    for (const signal of SIGNALS) {
      const url = signalUrl(c, signal);
      if (!url) continue;
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      const headerList: string[] = [];
      for (const [k, v] of Object.entries(this.baseHeaders)) if (k !== 'content-length') headerList.push(k, v);
      // URL.host is what node:http would send: the port only when not the scheme's default, IPv6 in brackets.
      if (this.baseHeaders.host === undefined) headerList.push('host', u.host);
      // As Go's DisableKeepAlives: say so, and the server closes the connection after its answer.
      if (!keep.keepAlive) headerList.push('connection', 'close');
      // user:password@ in the URL is Basic authentication, as the collector's Go client sends it.
      const urlAuth: Record<string, string> = {};
      if ((u.username || u.password) && this.baseHeaders.authorization === undefined) {
        const userinfo = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
        urlAuth.authorization = `Basic ${Buffer.from(userinfo).toString('base64')}`;
        headerList.push('authorization', urlAuth.authorization);
      }
      this.targets[signal] = {
        // The URL as errors and logs name it: never with its password.
        url: maskUrlCredentials(url),
        headerList,
        urlAuth,
        lib: secure ? https : http,
        options: {
          protocol: u.protocol,
          hostname: u.hostname.replace(/^\[|\]$/g, ''),
          port: u.port || (secure ? 443 : 80),
          path: u.pathname + u.search,
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
        },
      };
    }
    await prepareCompression(c.compression);
    await this.helper.start();
  }

  /** Sends one request; no metrics, so a queue/retry layer can call it per attempt. */
  async send(payload: Payload, signal: Signal = payload.signal): Promise<void> {
    const target = this.targets[signal];
    if (!target) {
      if (!this.httpAgent) throw new RetryableError(`exporter ${this.settings.id.id} is not started`, { code: 'GS_COMPONENT_STOPPED' });
      throw new PermanentError(`exporter ${this.settings.id.id} has no URL for ${signal}: set endpoint or ${signal}_endpoint`, {
        code: 'GS_EXPORTER_REJECTED',
      });
    }
    // Protobuf goes out as the payload's pieces, or compressed from them (a batch is never copied into one buffer).
    if (this.config.encoding === 'proto') {
      const c = this.config.compression;
      if (c === 'none') return this.post(target, signal, payload.chunks(), payload.meta);
      if (c === 'gzip' || c === 'deflate' || c === 'zlib')
        return this.post(target, signal, await compressPieces(c, payload.chunks(), this.config.compression_params.level), payload.meta);
    }
    let body: Uint8Array = payload.bytes;
    if (this.config.encoding === 'json') {
      try {
        body = Buffer.from(requestToJson(signal, body));
      } catch (err) {
        throw new PermanentError(`exporter ${this.settings.id.id}: cannot render the ${signal} request as OTLP/JSON: ${(err as Error).message}`, {
          cause: err,
          code: 'GS_EXPORTER_REJECTED',
        });
      }
    }
    if (this.config.compression !== 'none')
      body = await compress(this.config.compression, body, { level: this.config.compression_params.level, transport: 'http' });
    return this.post(target, signal, [body], payload.meta);
  }

  /** Queue, retries and metrics: the shared exporterhelper around send(). */
  consume(payload: Payload): Promise<void> {
    return this.helper.consume(payload);
  }

  /** POSTs the body, given as consecutive pieces written in turn. */
  private post(target: Target, signal: Signal, body: readonly Uint8Array[], meta: RequestMeta | undefined): Promise<void> {
    const timeoutMs = this.config.timeout;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      let length = 0;
      for (const piece of body) length += piece.byteLength;
      // An authenticator edits a header map; without one the prepared list goes as it is.
      let headers: http.OutgoingHttpHeaders | string[];
      if (this.authenticator) {
        const map: Record<string, string> = { ...this.baseHeaders, ...target.urlAuth, 'content-length': String(length) };
        this.authenticator.applyHeaders(map, meta);
        headers = map;
      } else headers = [...target.headerList, 'content-length', String(length)];
      const req = target.lib.request({ ...target.options, headers }, (res) => {
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const limit = ok ? MAX_RESPONSE_BODY : MAX_ERROR_BODY;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < limit) chunks.push(c);
          size += c.length;
        });
        res.on('close', () => {
          if (!res.complete)
            finish(
              new RetryableError(`OTLP/HTTP export of ${signal} to ${target.url}: connection closed before the response ended`, {
                code: 'GS_EXPORTER_SEND_FAILED',
              }),
            );
        });
        res.on('error', (e) =>
          finish(
            new RetryableError(`OTLP/HTTP export of ${signal} to ${target.url}: response failed: ${e.message}`, { cause: e, code: 'GS_EXPORTER_SEND_FAILED' }),
          ),
        );
        res.on('end', () => {
          const resBody = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          const enc = encodingOf(res.headers['content-type']);
          if (ok) {
            if (resBody.length > 0 && size <= limit) this.checkPartial(signal, enc, resBody, target.url);
            finish();
            return;
          }
          const error = this.errorFor(status, res.headers, enc, size <= limit ? resBody : resBody.subarray(0, limit), signal, target.url, headers);
          finish(error);
        });
      });
      // Decided after the poll that follows it: an answer that came while the event loop was stalled is read, not resent.
      const timer = attemptTimeout(
        timeoutMs,
        () => done,
        () => {
          req.destroy();
          finish(
            new RetryableError(`OTLP/HTTP export of ${signal} to ${target.url} timed out after ${timeoutMs} ms (timeout)`, {
              code: 'GS_EXPORTER_SEND_FAILED',
            }),
          );
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        // A TLS failure says which check failed (expired, wrong name, unknown CA, client certificate refused).
        const tlsText = describeTlsError(e);
        const detail = tlsText ? `TLS: ${tlsText}` : `${e.code ?? ''} ${e.message}`.trim();
        finish(new RetryableError(`OTLP/HTTP export of ${signal} to ${target.url} failed: ${detail}`, { cause: e, code: 'GS_EXPORTER_SEND_FAILED' }));
      });
      // One writev for all pieces: cork, write each, uncork on end.
      req.cork();
      for (const piece of body) req.write(piece);
      req.end();
    });
  }

  private errorFor(
    status: number,
    headers: http.IncomingHttpHeaders,
    enc: Encoding,
    body: Buffer,
    signal: Signal,
    url: string,
    sent: http.OutgoingHttpHeaders | readonly string[],
  ): Error {
    let detail = '';
    let retryDelayMs: number | undefined;
    if (body.length > 0) {
      let st: ReturnType<typeof decodeStatus>;
      try {
        st = decodeStatus(enc, body);
      } catch {
        st = undefined;
      }
      if (st) {
        detail = st.message;
        retryDelayMs = st.retryDelayMs;
      } else if (/^text\/|json/.test(headers['content-type'] ?? '')) {
        detail = body.toString('utf8', 0, Math.min(body.length, 512)).trim();
      }
    }
    // A server may echo the credential it refused: it must not reach the gateway's clients or logs.
    if (detail) detail = withoutCredentials(detail, credentialValues(sent));
    const text = `OTLP/HTTP export of ${signal} to ${url} failed: HTTP ${status}${detail ? `: ${detail}` : ''}`;
    if (isRetryableHttp(status)) {
      const retryAfterMs = parseRetryAfter(headers['retry-after']) ?? retryDelayMs;
      return new RetryableError(text, { retryAfterMs, throttled: status === 429, code: 'GS_EXPORTER_SEND_FAILED' });
    }
    return new PermanentError(text, { code: 'GS_EXPORTER_REJECTED' });
  }

  private checkPartial(signal: Signal, enc: Encoding, body: Buffer, url: string): void {
    let partial: { rejected: number; errorMessage: string } | undefined;
    try {
      partial = decodeExportResponsePartial(signal, enc, body);
    } catch (err) {
      this.settings.logger.debug('could not read the Export response', { signal, error: err });
      return;
    }
    if (partial && (partial.rejected > 0 || partial.errorMessage)) {
      // Partial success must not be retried (OTLP spec); it is the server's verdict on the data.
      this.settings.logger.warn('Partial success response', { signal, rejected: partial.rejected, message: partial.errorMessage, endpoint: url });
    }
  }

  async shutdown(deadlineAt?: number): Promise<void> {
    // The queue drains (memory) or stops and keeps its data (wal) while the connections are still open.
    await this.helper.shutdown(deadlineAt);
    // Idle sockets close now; sockets of in-flight requests close when their response ends.
    this.httpAgent?.destroy();
    this.httpsAgent?.destroy();
  }
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}
