/**
 * OTLP/HTTP server (fastify): POST /v1/logs|traces|metrics with protobuf or JSON bodies, optionally gzip
 * or deflate compressed. The handler takes the raw request stream itself, so a body is held once (one
 * Buffer.concat or one preallocated buffer) and a compressed body is inflated as it arrives with a
 * running limit: a gzip bomb is refused after `max_request_body_size` bytes, never inflated whole.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { messageOf } from '../../src/core/errors.js';
import type { Signal } from '../../src/core/signal.js';
import { OtlpJsonError, encodeExportResponse, encodeStatus, requestFromJsonPartial, type Encoding, type JsonRejections } from '../../src/pdata/codec.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { parseEndpoint, type OtlpHttpConfig } from './config.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { REQUEST_TYPE, noPipelineMessage, type Ingest } from './ingest.js';
import { validateRequest, validateRequestParts } from '../../src/pdata/validate.js';
import type { RequestMeta } from '../../src/core/auth.js';
import { AccessRefusal, type RequestAccess } from './access.js';
import { createDecompressor, DecompressedTooLarge, type Coding } from '../../src/compression/index.js';
import { acceptedCoding } from './config.js';
import { CorsPolicy } from '../../src/confighelper/cors.js';
import { createHttpServer } from '../../src/confighelper/http-server.js';
import { InFlightBudget, serverAdmission, type ByteAdmission } from '../../src/confighelper/inflight.js';
import { ServerTlsReloader, loadServerTls } from '../../src/confighelper/tls.js';
import type http from 'node:http';
import type tls from 'node:tls';

const CONTENT_TYPE: Record<Encoding, string> = { proto: 'application/x-protobuf', json: 'application/json' };

/** A failure while reading the body; `status` 0 means the client went away (nothing to answer). */
class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A retryable refusal's delay (503): the memory budget could not take the body as it grew. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** What the admission gate charges up front for a body without Content-Length (more as it is read). */
const UNKNOWN_LENGTH_CHARGE = 1024 * 1024;
/** How much more a growing (chunked or inflating) body asks the admission gate for at a time. */
const GROW_STEP = 256 * 1024;

export class OtlpHttpServer {
  private app: FastifyInstance | undefined;
  private closing = false;
  private readonly limit: number;
  private readonly okBodies = new Map<string, Buffer>();
  /** The success reply's headers per signal and encoding, as the flat list writeHead takes: built once. */
  private readonly okHeaders = new Map<string, string[]>();
  /** protocols.http.response_headers, added to every reply this server writes. */
  private readonly responseHeaders: [string, string][];
  /** The OTLP paths as configured, served straight from node:http (see start). */
  private readonly routes = new Map<string, Signal>();
  private bound: AddressInfo | undefined;
  /** Bytes of bodies being read or in the pipeline: this server's bound, then the somatic gate when there is one. */
  private readonly admission: ByteAdmission;
  readonly inFlight: InFlightBudget;
  private readonly cors: CorsPolicy;
  private reloader: ServerTlsReloader | undefined;

  constructor(
    private readonly cfg: OtlpHttpConfig,
    private readonly ingest: Ingest,
    private readonly logger: Logger,
    private readonly access: RequestAccess,
  ) {
    this.limit = cfg.max_request_body_size;
    this.inFlight = new InFlightBudget(cfg.max_in_flight_bytes > 0 ? cfg.max_in_flight_bytes : Infinity, 'protocols.http.max_in_flight_bytes');
    this.admission = serverAdmission(this.inFlight, ingest.gate);
    this.cors = new CorsPolicy(cfg.cors);
    this.responseHeaders = Object.entries(cfg.response_headers);
    for (const [signal, path] of this.paths()) if (!this.routes.has(path)) this.routes.set(path, signal);
  }

  private paths(): [Signal, string][] {
    return [
      ['logs', this.cfg.logs_url_path],
      ['traces', this.cfg.traces_url_path],
      ['metrics', this.cfg.metrics_url_path],
    ];
  }

  /** The bound address (after start), e.g. to learn the port chosen for `:0`. */
  get address(): { host: string; port: number } | undefined {
    return this.bound ? { host: this.bound.address, port: this.bound.port } : undefined;
  }

  /** Binds the endpoint. Rejects with the listen error (the caller names the receiver and endpoint). */
  async start(onFatal: (err: Error) => void): Promise<void> {
    const tlsOptions: tls.TlsOptions | undefined = this.cfg.tls ? await loadServerTls(this.cfg.tls, 'protocols.http.tls') : undefined;
    let server: http.Server | undefined;
    const app = Fastify({
      // node:http or node:https with the shared server settings (timeouts, header size, connection cap).
      // A request for an OTLP path as configured (the hot path) is served straight from node:http: fastify's
      // routing, hooks and reply objects cost ~5 % of the gateway's CPU per request. The rest (other paths,
      // a path spelled differently, e.g. percent-encoded) goes through fastify to the same handler.
      serverFactory: (fastifyHandler) =>
        (server = createHttpServer(
          this.cfg,
          tlsOptions,
          (req, res) => {
            const signal = this.routeOf(req.url);
            if (signal === undefined) fastifyHandler(req, res);
            else this.handle(signal, req, res);
          },
          this.logger,
          true,
        )),
      logger: false,
      // Longer than common client idle timeouts, so a client rarely reuses a socket the server just closed.
      keepAliveTimeout: 60_000,
      // During shutdown this receiver answers new requests itself (with a google.rpc.Status body).
      return503OnClosing: false,
      forceCloseConnections: 'idle',
      exposeHeadRoutes: false,
    });
    // One catch-all parser that leaves the stream unread: the handler reads it with its own limits.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    // Every reply is written on the raw response (hijacked from fastify), so it looks the same whichever
    // way the request came in, response_headers included.
    const paths = this.paths();
    for (const [signal, path] of paths) {
      app.all(path, (request, reply) => {
        reply.hijack();
        this.handle(signal, request.raw, reply.raw);
      });
    }
    app.setNotFoundHandler((request, reply) => {
      reply.hijack();
      // The collector's CORS handler wraps the whole server, so a preflight is answered on any path, and an
      // allowed origin reads the 404 too (its script can then say what went wrong).
      if (this.cors.enabled && this.cors.apply(request.raw, reply.raw)) return;
      const known = paths.map((p) => p[1]).join(', ');
      this.sendStatus(request.raw, reply.raw, 404, GrpcStatus.NOT_FOUND, `no OTLP endpoint at ${request.raw.url}; POST to ${known}`, encodingOf(request.raw));
    });
    app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
      reply.hijack();
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      this.sendStatus(request.raw, reply.raw, status, status === 500 ? GrpcStatus.INTERNAL : GrpcStatus.INVALID_ARGUMENT, err.message, encodingOf(request.raw));
    });

    const { host, port } = parseEndpoint(this.cfg.endpoint);
    // fastify binds every address of `localhost` (IPv4 and IPv6), as clients may try either.
    await app.listen({ host: host === '' ? '::' : host, port });
    this.app = app;
    if (this.cfg.tls && tlsOptions && server) {
      const tlsServer = server as unknown as tls.Server;
      this.reloader = new ServerTlsReloader(this.cfg.tls, 'protocols.http.tls', () => [tlsServer], this.logger, tlsOptions);
      this.reloader.start();
    }
    this.bound = app.server.address() as AddressInfo;
    app.server.on('error', (err) => onFatal(err));
  }

  /** Stops accepting, answers the requests in flight, closes idle keep-alive connections. */
  async shutdown(): Promise<void> {
    const app = this.app;
    if (!app) return;
    this.closing = true;
    this.app = undefined;
    this.reloader?.stop();
    await app.close();
  }

  /** The TLS reloader (when serving TLS), e.g. for a test to trigger a check. */
  get tlsReloader(): ServerTlsReloader | undefined {
    return this.reloader;
  }

  /** The signal of an OTLP path exactly as configured (a query string aside), else undefined. */
  private routeOf(url: string | undefined): Signal | undefined {
    if (url === undefined) return undefined;
    const q = url.indexOf('?');
    return this.routes.get(q < 0 ? url : url.slice(0, q));
  }

  /** CORS first, then authentication (before anything of the request is read), then the request itself. */
  private handle(signal: Signal, req: IncomingMessage, res: ServerResponse): void {
    // CORS first: a browser's preflight is answered here; an allowed origin's request gets its headers.
    if (this.cors.enabled && this.cors.apply(req, res)) return;
    // Only POST carries data: other methods (a CORS preflight, a probe) are answered without credentials,
    // as browsers send none on a preflight and the answer to the rest is 405 either way.
    if (!this.access.checks || req.method !== 'POST') {
      this.serve(signal, req, res, this.access.metaOf(req.headers, req.socket.remoteAddress));
      return;
    }
    this.access.admit(req.headers, req.socket.remoteAddress).then(
      (admitted) => {
        if (admitted instanceof AccessRefusal) {
          const [status, code] = admitted.unauthenticated ? [401, GrpcStatus.UNAUTHENTICATED] : [503, GrpcStatus.UNAVAILABLE];
          this.sendStatus(req, res, status, code, admitted.message, encodingOf(req), admitted.unauthenticated ? undefined : 1000);
          return;
        }
        this.serve(signal, req, res, admitted);
      },
      (err: unknown) => this.sendStatus(req, res, 500, GrpcStatus.INTERNAL, `internal error: ${messageOf(err)}`, encodingOf(req)),
    );
  }

  private serve(signal: Signal, req: IncomingMessage, res: ServerResponse, meta: RequestMeta | undefined): void {
    if (req.method !== 'POST') {
      this.sendStatus(
        req,
        res,
        405,
        GrpcStatus.UNIMPLEMENTED,
        `${req.method} is not allowed on ${req.url}; OTLP/HTTP takes POST`,
        encodingOf(req),
        undefined,
        ALLOW_POST,
      );
      return;
    }
    const encoding = encodingOf(req);
    if (encoding === undefined) {
      const ct = req.headers['content-type'];
      this.sendStatus(
        req,
        res,
        415,
        GrpcStatus.UNIMPLEMENTED,
        `${ct ? `Content-Type "${ct}"` : 'a request without Content-Type'} is not supported; send application/x-protobuf or application/json`,
        'json',
      );
      return;
    }
    if (this.closing) {
      this.sendStatus(req, res, 503, GrpcStatus.UNAVAILABLE, 'the receiver is shutting down; retry against another instance', encoding, 1000);
      return;
    }
    if (!this.ingest.hasConsumer(signal)) {
      this.sendStatus(req, res, 404, GrpcStatus.NOT_FOUND, noPipelineMessage(signal), encoding);
      return;
    }
    const coding = acceptedCoding(this.cfg, req.headers['content-encoding']);
    if (coding === undefined) {
      this.sendStatus(
        req,
        res,
        415,
        GrpcStatus.UNIMPLEMENTED,
        `Content-Encoding "${req.headers['content-encoding']}" is not supported; use one of ${this.cfg.compression_algorithms.map((a) => a || 'none').join(', ')} (protocols.http.compression_algorithms)`,
        encoding,
      );
      return;
    }
    const lengthHeader = req.headers['content-length'];
    const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
    if (contentLength !== undefined && contentLength > this.limit) {
      this.sendStatus(req, res, 413, GrpcStatus.RESOURCE_EXHAUSTED, tooLargeMessage(this.limit, `Content-Length ${contentLength}`), encoding);
      return;
    }
    // The request's bytes must fit this server's in-flight bound (and the somatic memory budget, when a
    // somatic processor is configured) before its body is read. What was charged is released when the
    // reply is done (or the connection dies), whatever happened meanwhile.
    const gate = this.admission;
    let charged = 0;
    let released = false;
    const want = contentLength !== undefined && Number.isInteger(contentLength) ? contentLength : UNKNOWN_LENGTH_CHARGE;
    if (!gate.tryAcquire(want)) {
      this.sendStatus(req, res, 503, GrpcStatus.UNAVAILABLE, gate.refusalMessage(want), encoding, gate.retryAfterMs());
      return;
    }
    charged = want;
    // Bytes of the body read so far: the gate hears of them as they come (they are in memory from then on).
    let read = 0;
    res.once('close', () => {
      released = true;
      gate.release(charged, Math.max(0, charged - read));
    });
    // A compressed or chunked body may grow past what was charged: each step must fit the budget too, or
    // the body is refused (retryable) while it is read, before it can take the memory.
    const grow = (total: number): BodyError | undefined => {
      if (released) return undefined;
      if (total > charged) {
        const extra = Math.max(total - charged, GROW_STEP);
        if (!gate.tryGrow(charged, extra)) return new BodyError(503, gate.refusalMessage(total), gate.retryAfterMs());
        charged += extra;
      }
      gate.arrived(total - read);
      read = total;
      return undefined;
    };
    // Only now, with the request admitted, is the client asked for its body (Expect: 100-continue).
    if (req.headers.expect !== undefined && req.headers.expect.toLowerCase() === '100-continue') res.writeContinue();
    readBody(req, coding, this.limit, grow, this.cfg.read_stall_timeout).then(
      (body) => {
        return this.ingestBody(signal, encoding, body, req, res, meta).catch((err: unknown) => {
          this.logger.error('OTLP/HTTP request handling failed', { error: messageOf(err) });
          this.sendStatus(req, res, 500, GrpcStatus.INTERNAL, `internal error: ${messageOf(err)}`, encoding);
        });
      },
      (err: unknown) => {
        if (err instanceof BodyError && err.status === 503) {
          this.sendStatus(req, res, 503, GrpcStatus.UNAVAILABLE, err.message, encoding, err.retryAfterMs ?? 1000);
        } else if (err instanceof BodyError && err.status === 408) {
          this.sendStatus(req, res, 408, GrpcStatus.DEADLINE_EXCEEDED, err.message, encoding);
          // The client stopped sending: after the reply the connection goes, with whatever it still holds.
          req.socket?.end();
        } else if (err instanceof BodyError && err.status !== 0) {
          if (err.status === 400) this.ingest.failed(signal, 'http', 0);
          this.sendStatus(req, res, err.status, err.status === 413 ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INVALID_ARGUMENT, err.message, encoding);
        }
        // Otherwise the client went away mid-body: nobody to answer.
      },
    );
  }

  private async ingestBody(
    signal: Signal,
    encoding: Encoding,
    body: Body,
    req: IncomingMessage,
    res: ServerResponse,
    meta: RequestMeta | undefined,
  ): Promise<void> {
    this.ingest.received('http', body.size);
    let bytes: Uint8Array | readonly Uint8Array[] = body.chunks;
    let items: number;
    // OTLP/JSON records that cannot be read are left out and reported as partial_success.
    let rejections: JsonRejections | undefined;
    try {
      if (encoding === 'json') {
        const text = body.chunks.length === 1 ? body.chunks[0]!.toString('utf8') : Buffer.concat(body.chunks, body.size).toString('utf8');
        let encoded: Uint8Array;
        ({ bytes: encoded, rejections } = requestFromJsonPartial(signal, text));
        items = validateRequest(signal, encoded, this.ingest.validation);
        bytes = encoded;
      } else items = validateRequestParts(signal, body.chunks, body.size, this.ingest.validation);
    } catch (err) {
      this.ingest.failed(signal, 'http', 0);
      // The codec's OtlpJsonError already names the field at fault.
      const text =
        encoding === 'proto'
          ? `malformed protobuf ${REQUEST_TYPE[signal]}: ${messageOf(err)}`
          : err instanceof OtlpJsonError
            ? err.message
            : `invalid OTLP/JSON ${REQUEST_TYPE[signal]}: ${messageOf(err)}`;
      this.sendStatus(req, res, 400, GrpcStatus.INVALID_ARGUMENT, text, encoding);
      return;
    }
    if (rejections && rejections.rejected > 0) this.ingest.failed(signal, 'http', rejections.rejected);
    // Nothing to deliver (no items, or every record rejected): answered at once, as the collector does.
    const refusal = items > 0 ? await this.ingest.deliver(signal, 'http', bytes, items, meta) : undefined;
    if (refusal) {
      this.sendStatus(req, res, refusal.httpStatus, refusal.grpcCode, refusal.message, encoding, refusal.retryAfterMs);
      return;
    }
    if (res.headersSent || req.socket?.destroyed) return;
    if (rejections && rejections.rejected > 0) {
      this.reply(req, res, 200, this.replyHeaders(encoding), toBuffer(encodeExportResponse(signal, encoding, rejections)));
      return;
    }
    const key = signal + encoding;
    let ok = this.okBodies.get(key);
    let headers = this.okHeaders.get(key);
    if (!ok || !headers) {
      // The full-success reply of a signal in an encoding is constant: encoded once, headers included.
      ok = toBuffer(encodeExportResponse(signal, encoding));
      headers = ['content-type', CONTENT_TYPE[encoding], 'content-length', String(ok.length), ...this.responseHeaders.flat()];
      this.okBodies.set(key, ok);
      this.okHeaders.set(key, headers);
    }
    this.reply(req, res, 200, headers, ok);
  }

  /** A reply's headers: its content type, response_headers, and any of `extra`. */
  private replyHeaders(encoding: Encoding, extra?: OutgoingHttpHeaders): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = { 'content-type': CONTENT_TYPE[encoding] };
    for (const [k, v] of this.responseHeaders) headers[k] = v;
    return extra ? Object.assign(headers, extra) : headers;
  }

  /** Writes a whole reply. A reply sent while shutting down closes its connection, so the server's close need not wait for it. */
  private reply(req: IncomingMessage, res: ServerResponse, status: number, headers: OutgoingHttpHeaders | string[], body: Buffer): void {
    if (this.closing || !req.complete) res.setHeader('connection', 'close');
    if (!Array.isArray(headers)) headers['content-length'] = body.length;
    res.writeHead(status, headers);
    res.end(body);
  }

  /**
   * Answers with a google.rpc.Status body, and Retry-After when a retry delay is given. When the request
   * body was left unread (an early refusal) the connection is closed after the reply, so the client stops
   * sending what nobody will read.
   */
  private sendStatus(
    req: IncomingMessage,
    res: ServerResponse,
    httpStatus: number,
    grpcCode: number,
    message: string,
    encoding: Encoding | undefined,
    retryDelayMs?: number,
    extra?: OutgoingHttpHeaders,
  ): void {
    if (res.headersSent || req.socket?.destroyed) return;
    const enc = encoding ?? 'json';
    this.logger.debug('refused an OTLP/HTTP request', { status: httpStatus, path: req.url, reason: message });
    const headers = this.replyHeaders(enc, extra);
    if (retryDelayMs !== undefined) headers['retry-after'] = String(Math.ceil(retryDelayMs / 1000));
    this.reply(req, res, httpStatus, headers, toBuffer(encodeStatus(enc, grpcCode, message, retryDelayMs)));
  }
}

const ALLOW_POST: OutgoingHttpHeaders = { allow: 'POST' };

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** The OTLP encoding named by the Content-Type (parameters such as charset ignored). */
function encodingOf(req: IncomingMessage): Encoding | undefined {
  const ct = req.headers['content-type'];
  if (!ct) return undefined;
  const semi = ct.indexOf(';');
  const type = (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  if (type === 'application/x-protobuf') return 'proto';
  if (type === 'application/json') return 'json';
  return undefined;
}

function tooLargeMessage(limit: number, what: string): string {
  return `request body too large: ${what} is over the limit of ${limit} bytes (protocols.http.max_request_body_size); send smaller requests`;
}

/** A request body as it arrived: consecutive pieces (the HTTP parser's, or the inflater's) and their total size. */
interface Body {
  chunks: Buffer[];
  size: number;
}

/**
 * Reads a request body, inflating it if compressed, and fails with 413 as soon as the (inflated) size
 * passes `limit`, or with `grow`'s refusal (503) when the admission gate cannot take what it grew to. The
 * pieces are kept as they came, not joined: a request forwarded undecoded (Yellow) leaves as those pieces,
 * so its size is allocated once (by the parser) rather than twice.
 */
function readBody(req: IncomingMessage, coding: Coding, limit: number, grow: (total: number) => BodyError | undefined, stallMs: number): Promise<Body> {
  return new Promise<Body>((resolve, reject) => {
    let settled = false;
    // A body that stops arriving is dropped after read_stall_timeout: its client holds no memory beyond it.
    // The check runs on a coarse timer and compares the time of the last chunk, so a chunk costs no timer reset.
    let lastData = Date.now();
    const stallTimer =
      stallMs > 0
        ? setInterval(
            () => {
              if (Date.now() - lastData >= stallMs)
                settle(
                  new BodyError(
                    408,
                    `the request body stopped arriving: no bytes for ${stallMs} ms (protocols.http.read_stall_timeout); the request is dropped`,
                  ),
                );
            },
            Math.max(50, Math.min(1000, Math.floor(stallMs / 4))),
          )
        : undefined;
    stallTimer?.unref();
    let inflater: ReturnType<typeof createDecompressor> | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let wire = 0;

    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearInterval(stallTimer);
      req.removeListener('data', onWireData);
      req.removeListener('end', onWireEnd);
      req.removeListener('error', onWireError);
      req.removeListener('close', onWireClose);
      if (err) {
        inflater?.destroy();
        // Keep draining into nothing: the reply closes the connection.
        req.resume();
        reject(err);
      } else {
        resolve({ chunks, size });
      }
    };
    const collect = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        settle(new BodyError(413, tooLargeMessage(limit, inflater ? 'the decompressed body' : 'the body')));
        return;
      }
      const refused = grow(size);
      if (refused) {
        settle(refused);
        return;
      }
      chunks.push(chunk);
    };
    const onWireData = (chunk: Buffer): void => {
      lastData = Date.now();
      wire += chunk.length;
      if (inflater) {
        if (wire > limit) {
          settle(new BodyError(413, tooLargeMessage(limit, 'the compressed body')));
          return;
        }
        if (!inflater.write(chunk)) req.pause();
      } else {
        collect(chunk);
      }
    };
    const onWireEnd = (): void => {
      if (inflater) inflater.end();
      else settle(undefined);
    };
    const onWireError = (): void => settle(new BodyError(0, 'client went away'));
    const onWireClose = (): void => {
      if (!req.complete) settle(new BodyError(0, 'client went away'));
    };

    if (coding !== 'identity') {
      const inf = createDecompressor(coding, limit);
      inflater = inf;
      inf.on('data', collect);
      inf.on('drain', () => {
        if (!settled) req.resume();
      });
      inf.on('end', () => settle(undefined));
      inf.on('error', (e) =>
        settle(
          e instanceof DecompressedTooLarge
            ? new BodyError(413, tooLargeMessage(limit, 'the decompressed body'))
            : new BodyError(400, `request body is not valid ${coding} data: ${e.message}`),
        ),
      );
    }
    req.on('data', onWireData);
    req.on('end', onWireEnd);
    req.on('error', onWireError);
    req.on('close', onWireClose);
  });
}
