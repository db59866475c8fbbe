/**
 * Unary gRPC calls on Node's own HTTP/2 client, as the otlp receiver serves them: the request goes out
 * as the 5-byte gRPC prefix followed by the payload's pieces (a batch is never copied into one buffer, and
 * no grpc-js framing copy), over one session with wide flow-control windows. Measured against grpc-js with
 * its window raised alike (bench/grpc-transport-ab.mjs): ~4x the calls/s on batches at a fifth of the client
 * CPU per call; the numbers are in README.md.
 */
import http2 from 'node:http2';
import { GrpcStatus } from './status.js';
import { encodeGrpcPrefix, readGrpcStatus, unframeGrpcMessage } from './framing.js';
import { codingOf, compress, decompress } from '../compression/index.js';
import { describeTlsError, type ClientTlsOptions } from '../confighelper/tls.js';
import { attemptTimeout } from '../core/attempt-timeout.js';

/** What a finished call returned: its status and, on OK, the response message. */
export interface CallResult {
  code: number;
  message: string;
  /** The google.rpc.Status of grpc-status-details-bin, when the server sent one. */
  details: Buffer | undefined;
  response: Buffer | undefined;
  /** Why an OK call's response message could not be read (the data was accepted; only its verdict is unknown). */
  responseError?: string;
}

export interface GrpcTransportOptions {
  /** `http://host:port` or `https://host:port`. */
  authority: string;
  /** The :authority header of every call when it is not the host dialled (the collector's `authority`, grpc-go's WithAuthority). */
  authorityHeader?: string;
  tls?: ClientTlsOptions;
  /** Metadata sent with every call (lower-case keys; `-bin` values already binary). */
  metadata: Record<string, string | Buffer>;
  /** Message compression and its level (gzip 1-9, zstd 1-22; undefined: the codec's default). */
  compression: 'gzip' | 'zstd' | 'snappy' | 'none';
  compressionLevel?: number;
  windowBytes: number;
  maxMessageBytes: number;
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  /** Ping also while no call is open (grpc-go's PermitWithoutStream); else pings wait for a call in flight. */
  keepalivePermitWithoutStream?: boolean;
}

export class GrpcTransport {
  private session: http2.ClientHttp2Session | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  /** Calls whose stream is open: without permit_without_stream, keepalive pings only while there is one. */
  private openStreams = 0;
  private closed = false;
  /** Why the last session failed (a TLS verification error, a refused connection), for the calls it fails. */
  private sessionError: Error | undefined;
  private readonly baseHeaders: http2.OutgoingHttpHeaders;
  /** The configured metadata as header values; a call may bring its own instead (an authenticator's). */
  private readonly metadataHeaders: Record<string, string> = {};

  constructor(private readonly opts: GrpcTransportOptions) {
    this.baseHeaders = {
      [http2.constants.HTTP2_HEADER_METHOD]: 'POST',
      [http2.constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
      'user-agent': 'gophership',
      ...(opts.authorityHeader ? { [http2.constants.HTTP2_HEADER_AUTHORITY]: opts.authorityHeader } : {}),
      ...(opts.compression !== 'none' ? { 'grpc-encoding': opts.compression, 'grpc-accept-encoding': `${opts.compression},identity` } : {}),
    };
    for (const [k, v] of Object.entries(opts.metadata)) this.metadataHeaders[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
  }

  /** A fresh copy of the configured metadata, for an authenticator to add to. */
  configuredMetadata(): Record<string, string> {
    return { ...this.metadataHeaders };
  }

  /** The live session, connecting (again) when there is none or the last one closed. */
  private connect(): http2.ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const { tls } = this.opts;
    const session = http2.connect(this.opts.authority, {
      settings: { initialWindowSize: Math.min(this.opts.windowBytes, 2 ** 31 - 1), maxHeaderListSize: 64 * 1024 },
      maxSessionMemory: 256,
      ...(tls ?? {}),
    });
    session.on('connect', () => session.setLocalWindowSize(Math.min(this.opts.windowBytes, 2 ** 31 - 1)));
    // A failed or closed session fails its streams; the next call connects anew.
    session.on('error', (err) => {
      this.sessionError = err;
    });
    session.on('connect', () => {
      this.sessionError = undefined;
    });
    session.on('goaway', () => session.close());
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.unref();
    this.session = session;
    this.schedulePing();
    return session;
  }

  /**
   * Pings the session every keepalive interval so a dead peer is noticed. Without permit_without_stream
   * only while a call is open, as grpc-go's client: a grpc-go server (the collector's receivers, and this
   * gateway's) counts pings on a connection without calls more often than every 2h as strikes and sends
   * GOAWAY too_many_pings after two.
   */
  private schedulePing(): void {
    if (this.pingTimer || this.opts.keepaliveMs <= 0) return;
    this.pingTimer = setInterval(() => {
      const s = this.session;
      if (!s || s.closed || s.destroyed) return;
      if (this.openStreams === 0 && !this.opts.keepalivePermitWithoutStream) return;
      const timer = setTimeout(() => s.destroy(new Error('keepalive ping timed out')), this.opts.keepaliveTimeoutMs);
      s.ping((err) => {
        clearTimeout(timer);
        if (err) s.destroy(err);
      });
    }, this.opts.keepaliveMs);
    this.pingTimer.unref();
  }

  /** One unary call: method path, message pieces (sent in order), deadline; `metadata` replaces the configured metadata. */
  async call(path: string, pieces: readonly Uint8Array[], timeoutMs: number, metadata?: Readonly<Record<string, string>>): Promise<CallResult> {
    if (this.closed) return { code: GrpcStatus.UNAVAILABLE, message: 'exporter is shut down', details: undefined, response: undefined };
    let length = 0;
    for (const p of pieces) length += p.byteLength;
    let body = pieces;
    let compressed = false;
    if (this.opts.compression !== 'none') {
      body = [
        await compress(this.opts.compression, pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, length), {
          level: this.opts.compressionLevel,
          transport: 'grpc',
        }),
      ];
      length = body[0]!.byteLength;
      compressed = true;
    }
    if (length > this.opts.maxMessageBytes) {
      return {
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        message: `request of ${length} bytes is over max_message_size (${this.opts.maxMessageBytes})`,
        details: undefined,
        response: undefined,
      };
    }
    const prefix = encodeGrpcPrefix(length, compressed);

    return new Promise<CallResult>((resolve) => {
      let settled = false;
      // Declared before `done`, which a failure to open the stream calls before the timer exists.
      let timer: NodeJS.Timeout | undefined;
      const done = (r: CallResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const fail = (code: number, message: string) => done({ code, message, details: undefined, response: undefined });
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.connect().request({
          ...this.baseHeaders,
          ...(metadata ?? this.metadataHeaders),
          [http2.constants.HTTP2_HEADER_PATH]: path,
          'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
        });
      } catch (err) {
        fail(GrpcStatus.UNAVAILABLE, `cannot open a stream: ${(err as Error).message}`);
        return;
      }
      this.openStreams++;
      stream.once('close', () => this.openStreams--);
      // Decided after the poll that follows it: an answer that came while the event loop was stalled is read, not resent.
      timer = attemptTimeout(
        timeoutMs,
        // `finished`: the status is read and a compressed answer is being inflated.
        () => settled || finished,
        () => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          fail(GrpcStatus.DEADLINE_EXCEEDED, `no answer within ${timeoutMs} ms`);
        },
      );

      const chunks: Buffer[] = [];
      let headers: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => {
        headers = h;
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      // Set once the status is read: the stream's later 'end' and 'close' (which follow 'trailers') must not
      // answer while a compressed response is still being inflated.
      let finished = false;
      const finish = (trailers: http2.IncomingHttpHeaders) => {
        if (finished || settled) return;
        finished = true;
        const status = Number(headers[':status']);
        const callStatus = readGrpcStatus(headers, trailers);
        if (headers[':status'] === undefined && callStatus === undefined) {
          // The stream ended without any response: the connection went away (a killed server, a reset by
          // a proxy). Nothing was answered, so the call may be retried.
          fail(GrpcStatus.UNAVAILABLE, 'the connection closed before a response');
          return;
        }
        if (callStatus === undefined) {
          // No gRPC status: not a gRPC server, or a proxy's HTTP error (mapped as the gRPC spec says).
          fail(
            status === 429 || status === 502 || status === 503 || status === 504 ? GrpcStatus.UNAVAILABLE : GrpcStatus.UNKNOWN,
            `HTTP ${status ?? '?'} without grpc-status`,
          );
          return;
        }
        const { code, message, details } = callStatus;
        if (code !== GrpcStatus.OK || chunks.length === 0) {
          done({ code, message, details, response: undefined });
          return;
        }
        readResponseMessage(Buffer.concat(chunks), headers['grpc-encoding'], this.opts.maxMessageBytes).then(
          (response) => done({ code, message, details, response }),
          (err: Error) => done({ code, message, details, response: undefined, responseError: err.message }),
        );
      };
      stream.on('trailers', (t) => finish(t));
      stream.on('end', () => finish({}));
      // A TLS failure (expired, wrong name, unknown CA, our certificate refused) is named, not just "closed".
      const why = (err?: Error): string | undefined => (err && describeTlsError(err)) ?? describeTlsError(this.sessionError);
      stream.on('error', (err) => {
        if (finished) return;
        const tlsText = why(err);
        fail(GrpcStatus.UNAVAILABLE, tlsText ? `TLS: ${tlsText}` : err.message);
      });
      stream.on('close', () => {
        if (finished) return;
        const tlsText = why();
        fail(GrpcStatus.UNAVAILABLE, tlsText ? `TLS: ${tlsText}` : `stream closed (code ${stream.rstCode ?? '?'}) before a status`);
      });

      // One writev for prefix and pieces.
      stream.cork();
      stream.write(prefix);
      for (const p of body) stream.write(p);
      stream.end();
      stream.uncork();
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.session?.close();
    this.session = undefined;
  }
}

/**
 * The response message of a unary call, from its length-prefixed frame. A server may compress it (the
 * compressed flag set, its algorithm in the response's grpc-encoding) in an encoding the request offered
 * in grpc-accept-encoding; grpc-go answers in the request's own encoding. Decompressed output is bounded
 * by max_message_size.
 */
export async function readResponseMessage(frame: Buffer, encodingHeader: string | string[] | undefined, maxMessageBytes: number): Promise<Buffer> {
  const reply = unframeGrpcMessage(frame);
  if (!reply) throw new Error(`response of ${frame.length} bytes is not one length-prefixed gRPC message`);
  if (!reply.compressed) return reply.message;
  const header = Array.isArray(encodingHeader) ? encodingHeader[0] : encodingHeader;
  const coding = codingOf(header);
  if (coding === undefined || coding === 'identity') {
    throw new Error(`response message is compressed with grpc-encoding "${header ?? 'identity'}", which this exporter does not read`);
  }
  return decompress(coding, reply.message, maxMessageBytes);
}
