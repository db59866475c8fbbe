/**
 * OTLP/gRPC server on Node's own http2 module: the three unary Export methods, with gRPC's framing done
 * here. grpc-js's server cannot raise the HTTP/2 connection window above 64 KiB, which caps one client
 * connection at a few hundred MB/s; here every session opens a large window, so one connection carries
 * multi-MiB requests at loopback speed.
 *
 * Wire format (gRPC over HTTP/2): request headers `:method POST`, `:path /pkg.Service/Method`,
 * `content-type: application/grpc[+proto]`, optional `grpc-encoding`; the body is one message framed as
 * a compressed flag (1 byte) + length (u32 big-endian) + bytes. The reply is `:status 200` headers, the
 * framed response message, then trailers `grpc-status` / `grpc-message` (percent-encoded) /
 * `grpc-status-details-bin` (base64 google.rpc.Status). Errors are sent "trailers-only": one HEADERS
 * frame carrying the status, ending the stream.
 */
import { lookup } from 'node:dns/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { messageOf } from '../../src/core/errors.js';
import { GRPC_METHOD, SIGNALS, type Signal } from '../../src/core/signal.js';
import { encodeExportResponse } from '../../src/pdata/codec.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { grpcMaxRecvBytes, parseEndpoint, type OtlpGrpcConfig } from './config.js';
import { GrpcStatus } from '../../src/grpc/status.js';
import { GRPC_PREFIX_BYTES, frameGrpcMessage, grpcPrefixFlag, grpcPrefixLength, grpcStatusHeaders, respondGrpcOk } from '../../src/grpc/framing.js';
import { REQUEST_TYPE, noPipelineMessage, type Ingest } from './ingest.js';
import { validateRequest, validateRequestParts } from '../../src/pdata/validate.js';
import type { RequestMeta } from '../../src/core/auth.js';
import { AccessRefusal, type RequestAccess } from './access.js';
import { ACCEPTED_CODINGS, codingOf, decompress, DecompressedTooLarge, type Coding } from '../../src/compression/index.js';
import { applyKeepalive, closeIfSilent, connectionOpenTimeout } from '../../src/confighelper/grpc-server.js';
import { watchHandshakes } from '../../src/confighelper/http-server.js';
import { InFlightBudget, serverAdmission, type ByteAdmission } from '../../src/confighelper/inflight.js';
import { ServerTlsReloader, loadServerTls } from '../../src/confighelper/tls.js';
import type tls from 'node:tls';

/** Per-stream window: a whole default-size (4 MiB) request can be in flight without waiting for updates. */
const STREAM_WINDOW = 4 * 1024 * 1024;
/** Connection window: several such requests at once on one connection. */
const CONNECTION_WINDOW = 32 * 1024 * 1024;

const ACCEPT_ENCODING = ACCEPTED_CODINGS;

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, NGHTTP2_NO_ERROR } = http2.constants;

type StreamState = 'reading' | 'processing' | 'done';

/** The retry delay a refusal during shutdown names (another instance, or this one restarted, takes it). */
const SHUTDOWN_RETRY_MS = 1000;

export class OtlpGrpcServer {
  private readonly servers: (http2.Http2Server | http2.Http2SecureServer)[] = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly methods = new Map<string, Signal>();
  private readonly maxBytes: number;
  private okFrames: Partial<Record<Signal, Buffer>> = {};
  private closing = false;
  private bound: AddressInfo | undefined;
  /** Message bytes being read or in the pipeline: this server's bound, then the somatic gate when there is one. */
  private readonly admission: ByteAdmission;
  readonly inFlight: InFlightBudget;
  private tlsOptions: tls.TlsOptions | undefined;
  private reloader: ServerTlsReloader | undefined;

  constructor(
    private readonly cfg: OtlpGrpcConfig,
    private readonly ingest: Ingest,
    private readonly logger: Logger,
    private readonly access: RequestAccess,
  ) {
    this.maxBytes = grpcMaxRecvBytes(cfg);
    this.inFlight = new InFlightBudget(cfg.max_in_flight_bytes > 0 ? cfg.max_in_flight_bytes : Infinity, 'protocols.grpc.max_in_flight_bytes');
    this.admission = serverAdmission(this.inFlight, ingest.gate);
    for (const signal of SIGNALS) this.methods.set(GRPC_METHOD[signal], signal);
  }

  get address(): { host: string; port: number } | undefined {
    return this.bound ? { host: this.bound.address, port: this.bound.port } : undefined;
  }

  /** Binds the endpoint (every address of `localhost`, like the HTTP side). Rejects with the listen error. */
  async start(onFatal: (err: Error) => void): Promise<void> {
    if (this.cfg.tls) this.tlsOptions = await loadServerTls(this.cfg.tls, 'protocols.grpc.tls');
    const { host, port } = parseEndpoint(this.cfg.endpoint);
    let hosts: string[];
    if (host === 'localhost') {
      hosts = [...new Set((await lookup('localhost', { all: true })).map((a) => a.address))];
      if (hosts.length === 0) hosts = ['127.0.0.1'];
    } else {
      hosts = [host === '' ? '::' : host];
    }
    try {
      const first = await this.listenOne(hosts[0]!, port);
      this.bound = first.address() as AddressInfo;
      for (const h of hosts.slice(1)) {
        // Secondary addresses of localhost (e.g. ::1 where IPv6 is off) may be missing: the primary suffices.
        await this.listenOne(h, this.bound.port).catch((err: unknown) => {
          this.logger.debug('could not also listen on a secondary localhost address', { host: h, error: messageOf(err) });
        });
      }
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    for (const server of this.servers) server.on('error', (err) => onFatal(err));
    if (this.cfg.tls && this.tlsOptions) {
      this.reloader = new ServerTlsReloader(this.cfg.tls, 'protocols.grpc.tls', () => this.servers as tls.Server[], this.logger, this.tlsOptions);
      this.reloader.start();
    }
  }

  /** The TLS reloader (when serving TLS), e.g. for a test to trigger a check. */
  get tlsReloader(): ServerTlsReloader | undefined {
    return this.reloader;
  }

  private listenOne(host: string, port: number): Promise<http2.Http2Server | http2.Http2SecureServer> {
    const options: http2.ServerOptions = {
      settings: {
        initialWindowSize: STREAM_WINDOW,
        maxHeaderListSize: this.cfg.max_header_list_size,
        ...(this.cfg.max_concurrent_streams > 0 ? { maxConcurrentStreams: this.cfg.max_concurrent_streams } : {}),
      },
      // Node's default (10 MB) refuses new streams once a session buffers that much; the large windows
      // above allow more in flight. Memory is bounded by the windows and the message size limit.
      maxSessionMemory: Math.ceil((CONNECTION_WINDOW + 4 * this.maxBytes) / (1024 * 1024)),
    };
    // gRPC over TLS: HTTP/2 negotiated by ALPN, nothing else served.
    const openTimeout = connectionOpenTimeout(this.cfg.read_stall_timeout);
    const server = this.tlsOptions
      ? http2.createSecureServer({ ...options, ...this.tlsOptions, allowHTTP1: false, handshakeTimeout: openTimeout })
      : http2.createServer(options);
    if (this.cfg.max_connections > 0) server.maxConnections = this.cfg.max_connections;
    if (this.tlsOptions) watchHandshakes(server as http2.Http2SecureServer, this.logger);
    server.on('session', (session) => {
      session.on('error', (err) => this.logger.debug('gRPC connection error', { error: err.message }));
      if (this.closing) {
        session.close();
        return;
      }
      closeIfSilent(session, openTimeout);
      applyKeepalive(session, this.cfg.keepalive, (why) => this.logger.debug('closing a gRPC connection', { reason: why }));
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      try {
        session.setLocalWindowSize(CONNECTION_WINDOW);
      } catch {
        // The session is already gone.
      }
    });
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.removeListener('error', onError);
        this.servers.push(server);
        resolve(server);
      });
    });
  }

  /** Stops accepting; lets the calls in flight finish and be answered (GOAWAY to every client), then resolves. */
  async shutdown(): Promise<void> {
    this.closing = true;
    this.reloader?.stop();
    const closed = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    this.servers.length = 0;
    for (const session of this.sessions) session.close();
    await Promise.all(closed);
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {
      // A reset by the client; the stream's state machine below just stops.
    });
    const contentType = headers[HTTP2_HEADER_CONTENT_TYPE];
    // application/grpc, optionally +<codec> and parameters (the gRPC over HTTP/2 spec).
    const ct = typeof contentType === 'string' ? /^application\/grpc(?:\+([^;\s]*))?\s*(?:;.*)?$/i.exec(contentType.trim()) : null;
    if (!ct) {
      // Not a gRPC request: the spec's answer is a plain HTTP 415.
      respondPlain(stream, 415, 'content-type must be application/grpc\n');
      return;
    }
    if (ct[1] !== undefined && ct[1].toLowerCase() !== 'proto') {
      this.refuse(
        stream,
        GrpcStatus.UNIMPLEMENTED,
        `content-type ${contentType}: only the proto codec is served; send application/grpc or application/grpc+proto`,
      );
      return;
    }
    const path = headers[HTTP2_HEADER_PATH] as string;
    const signal = this.methods.get(path);
    if (headers[HTTP2_HEADER_METHOD] !== 'POST' || signal === undefined) {
      this.refuse(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}; this server serves the OTLP Export methods`);
      return;
    }
    if (!this.ingest.hasConsumer(signal)) {
      this.refuse(stream, GrpcStatus.UNIMPLEMENTED, noPipelineMessage(signal));
      return;
    }
    if (this.closing) {
      this.refuse(stream, GrpcStatus.UNAVAILABLE, 'the receiver is shutting down; retry against another instance', SHUTDOWN_RETRY_MS);
      return;
    }
    const encodingHeader = headers['grpc-encoding'];
    const encoding = codingOf(typeof encodingHeader === 'string' ? encodingHeader : undefined);
    if (encoding === undefined) {
      this.refuse(stream, GrpcStatus.UNIMPLEMENTED, `grpc-encoding "${String(encodingHeader)}" is not supported; use one of ${ACCEPT_ENCODING}`);
      return;
    }
    const address = stream.session?.socket?.remoteAddress;
    if (!this.access.checks) {
      this.readMessage(stream, signal, encoding, this.access.metaOf(headers, address));
      return;
    }
    // The message is not read until the credentials pass: HTTP/2 flow control holds the client meanwhile.
    this.access.admit(headers, address).then(
      (admitted) => {
        if (admitted instanceof AccessRefusal) {
          if (admitted.unauthenticated) this.refuse(stream, GrpcStatus.UNAUTHENTICATED, admitted.message);
          else this.refuse(stream, GrpcStatus.UNAVAILABLE, admitted.message, admitted.retryAfterMs);
          return;
        }
        this.readMessage(stream, signal, encoding, admitted);
      },
      (err: unknown) => this.refuse(stream, GrpcStatus.INTERNAL, `internal error: ${messageOf(err)}`),
    );
  }

  /**
   * Reads the one request message of a unary call, kept as the pieces it arrived in (views of the stream's
   * chunks, no copy): the validator joins them into its reused scratch buffer and the pipeline forwards the
   * pieces, as for an HTTP body, so a message costs no allocation of its size here. (Copying it into one
   * buffer as it arrives was measured: more instructions per request, full GCs unchanged; bench/RESULTS.md,
   * 2026-12-06 21:58.)
   */
  private readMessage(stream: http2.ServerHttp2Stream, signal: Signal, encoding: Coding, meta: RequestMeta | undefined): void {
    let state: StreamState = 'reading';
    const prefix = Buffer.allocUnsafe(GRPC_PREFIX_BYTES);
    let prefixFill = 0;
    let pieces: Buffer[] = [];
    /** The message's length from its prefix; -1 until the prefix is read. */
    let length = -1;
    let fill = 0;
    let compressed = false;

    // A message that stops arriving is dropped after read_stall_timeout (checked on a coarse timer against
    // the time of the last chunk, so a chunk costs no timer reset).
    const stallMs = this.cfg.read_stall_timeout;
    let lastData = Date.now();
    const stallTimer =
      stallMs > 0
        ? setInterval(
            () => {
              if (state === 'reading' && Date.now() - lastData >= stallMs) {
                fail(
                  GrpcStatus.DEADLINE_EXCEEDED,
                  `the request message stopped arriving: no bytes for ${stallMs} ms (protocols.grpc.read_stall_timeout); the call is dropped`,
                );
              }
            },
            Math.max(50, Math.min(1000, Math.floor(stallMs / 4))),
          )
        : undefined;
    stallTimer?.unref();
    const fail = (code: number, text: string, retryDelayMs?: number): void => {
      state = 'done';
      pieces = [];
      clearInterval(stallTimer);
      stream.removeListener('data', onData);
      this.refuse(stream, code, text, retryDelayMs);
    };
    // The message's bytes must fit this server's in-flight bound and the somatic memory budget (when
    // configured) before they are read (checked on the length prefix of the first frame); released when
    // the stream closes, however it ends.
    const gate = this.admission;
    let charged = 0;
    // Bytes of the message read so far (the gate hears of them as they come: in memory from then on).
    let read = 0;
    stream.once('close', () => {
      clearInterval(stallTimer);
      gate.release(charged, Math.max(0, charged - read));
      charged = 0;
    });
    const onData = (chunk: Buffer): void => {
      lastData = Date.now();
      let off = 0;
      while (off < chunk.length && state === 'reading') {
        if (length < 0 || fill === length) {
          if (length >= 0) {
            fail(GrpcStatus.INTERNAL, 'more than one request message on a unary call');
            return;
          }
          const n = Math.min(GRPC_PREFIX_BYTES - prefixFill, chunk.length - off);
          chunk.copy(prefix, prefixFill, off, off + n);
          prefixFill += n;
          off += n;
          if (prefixFill < GRPC_PREFIX_BYTES) return;
          const flag = grpcPrefixFlag(prefix);
          const declared = grpcPrefixLength(prefix);
          if (flag > 1) {
            fail(GrpcStatus.INTERNAL, `invalid message framing: compressed flag ${flag}`);
            return;
          }
          compressed = flag === 1;
          if (compressed && encoding === 'identity') {
            fail(GrpcStatus.INTERNAL, 'message is marked compressed but the request has no grpc-encoding');
            return;
          }
          if (declared > this.maxBytes) {
            this.ingest.failed(signal, 'grpc', 0);
            fail(GrpcStatus.RESOURCE_EXHAUSTED, tooLargeMessage(declared, this.maxBytes));
            return;
          }
          if (!gate.tryAcquire(declared)) {
            fail(GrpcStatus.UNAVAILABLE, gate.refusalMessage(declared), gate.retryAfterMs());
            return;
          }
          charged = declared;
          length = declared;
          fill = 0;
        } else {
          const n = Math.min(length - fill, chunk.length - off);
          pieces.push(off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n));
          fill += n;
          off += n;
          gate.arrived(n);
          read += n;
        }
      }
    };
    stream.on('data', onData);
    stream.once('end', () => {
      clearInterval(stallTimer);
      if (state !== 'reading') return;
      if (length < 0 || fill < length) {
        fail(GrpcStatus.INTERNAL, length < 0 ? 'the call carried no request message' : 'the request message was cut short');
        return;
      }
      state = 'processing';
      this.process(stream, signal, pieces, length, compressed ? encoding : 'identity', meta, (held) => {
        // A compressed message must fit the budget inflated too; if it does not, it is refused (retryable)
        // and the inflated copy is dropped at once instead of going down the pipeline.
        if (stream.closed || held <= charged) return undefined;
        if (gate.tryGrow(charged, held - charged)) {
          // The inflated copy is in memory already.
          gate.arrived(held - charged);
          read += held - charged;
          charged = held;
          return undefined;
        }
        return { message: gate.refusalMessage(held), retryAfterMs: gate.retryAfterMs() };
      }).catch((err: unknown) => {
        this.logger.error('OTLP/gRPC request handling failed', { error: messageOf(err) });
        this.refuse(stream, GrpcStatus.INTERNAL, `internal error: ${messageOf(err)}`);
      });
    });
  }

  private async process(
    stream: http2.ServerHttp2Stream,
    signal: Signal,
    pieces: readonly Buffer[],
    length: number,
    encoding: Coding,
    meta: RequestMeta | undefined,
    onInflated?: (heldBytes: number) => { message: string; retryAfterMs: number } | undefined,
  ): Promise<void> {
    let bytes: Buffer | readonly Buffer[] = pieces;
    let size = length;
    if (encoding !== 'identity') {
      try {
        const message = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, length);
        bytes = await decompress(encoding, message, this.maxBytes);
        size = bytes.length;
      } catch (err) {
        this.ingest.failed(signal, 'grpc', 0);
        if (err instanceof DecompressedTooLarge) {
          this.refuse(stream, GrpcStatus.RESOURCE_EXHAUSTED, tooLargeMessage(undefined, this.maxBytes));
        } else {
          this.refuse(stream, GrpcStatus.INTERNAL, `could not decompress the ${encoding} request message: ${messageOf(err)}`);
        }
        return;
      }
    }
    if (bytes !== pieces) {
      const refused = onInflated?.(length + size);
      if (refused) {
        this.refuse(stream, GrpcStatus.UNAVAILABLE, refused.message, refused.retryAfterMs);
        return;
      }
    }
    this.ingest.received('grpc', size);
    let items: number;
    try {
      items = Buffer.isBuffer(bytes)
        ? validateRequest(signal, bytes, this.ingest.validation)
        : validateRequestParts(signal, bytes, size, this.ingest.validation);
    } catch (err) {
      this.ingest.failed(signal, 'grpc', 0);
      this.refuse(stream, GrpcStatus.INVALID_ARGUMENT, `malformed protobuf ${REQUEST_TYPE[signal]}: ${messageOf(err)}`);
      return;
    }
    // A request without items is answered at once, as the collector does: there is nothing to deliver.
    const refusal = items > 0 ? await this.ingest.deliver(signal, 'grpc', bytes, items, meta) : undefined;
    if (refusal) {
      this.refuse(stream, refusal.grpcCode, refusal.message, refusal.retryAfterMs);
      return;
    }
    this.respondOk(stream, signal);
  }

  private respondOk(stream: http2.ServerHttp2Stream, signal: Signal): void {
    if (stream.destroyed || stream.closed) return;
    let frame = this.okFrames[signal];
    if (!frame) {
      frame = frameGrpcMessage(encodeExportResponse(signal, 'proto'));
      this.okFrames[signal] = frame;
    }
    try {
      respondGrpcOk(stream, frame, { 'grpc-accept-encoding': ACCEPT_ENCODING });
    } catch {
      // The client reset the stream meanwhile.
    }
  }

  /** A trailers-only reply carrying the status; RetryInfo goes into grpc-status-details-bin when given. */
  private refuse(stream: http2.ServerHttp2Stream, code: number, message: string, retryDelayMs?: number): void {
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    this.logger.debug('refused an OTLP/gRPC request', { code, reason: message });
    const headers = { ...grpcStatusHeaders(code, message, retryDelayMs), 'grpc-accept-encoding': ACCEPT_ENCODING };
    try {
      stream.respond(headers, { endStream: true });
    } catch {
      return;
    }
    // The call is answered; if the client is still sending, tell it to stop (RST_STREAM NO_ERROR, as
    // grpc-go does) rather than reading what nobody will use.
    if (!stream.readableEnded) {
      setImmediate(() => {
        if (!stream.destroyed) stream.close(NGHTTP2_NO_ERROR);
      });
    }
  }
}

function respondPlain(stream: http2.ServerHttp2Stream, status: number, text: string): void {
  try {
    stream.respond({ [HTTP2_HEADER_STATUS]: status, [HTTP2_HEADER_CONTENT_TYPE]: 'text/plain' });
    stream.end(text);
  } catch {
    // Stream already gone.
  }
}

function tooLargeMessage(length: number | undefined, max: number): string {
  const what = length === undefined ? 'decompressed request message' : `request message of ${length} bytes`;
  return `${what} is larger than the limit of ${max} bytes (protocols.grpc.max_recv_msg_size_mib); send smaller requests`;
}
