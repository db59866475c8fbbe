/**
 * gRPC over HTTP/2 as the gateway speaks it on Node's own http2 module (receiver, exporter, sink): the
 * length-prefixed message framing, the status a call ends with (grpc-status, grpc-message,
 * grpc-status-details-bin) and a unary reply. One implementation, so every side frames and reads alike.
 *
 * A message on the wire is a 5-byte prefix, the compressed flag (0 or 1) and the message's length as an
 * unsigned 32-bit big-endian integer, followed by the message's bytes.
 */
import type http2 from 'node:http2';
import { encodeStatus } from '../pdata/codec.js';
import { encodeGrpcMessage } from './message.js';

/** Bytes of the prefix in front of every gRPC message. */
export const GRPC_PREFIX_BYTES = 5;

/** The prefix of a message of `length` bytes (sent in front of the message's pieces, which are not copied). */
export function encodeGrpcPrefix(length: number, compressed: boolean): Buffer {
  const prefix = Buffer.allocUnsafe(GRPC_PREFIX_BYTES);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/** The compressed flag of the prefix at buf[0..5) (0 or 1 when valid; any other value is a framing error). */
export const grpcPrefixFlag = (prefix: Uint8Array): number => prefix[0]!;

/** The message length of the prefix at buf[0..5). */
export const grpcPrefixLength = (prefix: Uint8Array): number => ((prefix[1]! << 24) | (prefix[2]! << 16) | (prefix[3]! << 8) | prefix[4]!) >>> 0;

/** One framed message in one buffer: for small messages (replies) built once. */
export function frameGrpcMessage(message: Uint8Array, compressed = false): Buffer {
  const framed = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + message.length);
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, GRPC_PREFIX_BYTES);
  return framed;
}

/**
 * The message of a body holding exactly one framed message (a unary request or reply); undefined when the
 * body is not exactly one (too short, a length that disagrees, a flag other than 0 or 1).
 */
export function unframeGrpcMessage(body: Buffer): { compressed: boolean; message: Buffer } | undefined {
  if (body.length < GRPC_PREFIX_BYTES) return undefined;
  const flag = grpcPrefixFlag(body);
  if (flag > 1 || grpcPrefixLength(body) !== body.length - GRPC_PREFIX_BYTES) return undefined;
  return { compressed: flag === 1, message: body.subarray(GRPC_PREFIX_BYTES) };
}

/**
 * The headers of a trailers-only reply ending a call with `code`: the status in the one HEADERS frame.
 * With `retryDelayMs` the google.rpc.Status in grpc-status-details-bin carries a RetryInfo, which makes
 * RESOURCE_EXHAUSTED retryable and tells the client when.
 */
export function grpcStatusHeaders(code: number, message: string, retryDelayMs?: number): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(code),
    'grpc-message': encodeGrpcMessage(message),
  };
  if (retryDelayMs !== undefined) {
    // Unpadded base64, as the gRPC spec asks senders of -bin headers.
    headers['grpc-status-details-bin'] = Buffer.from(encodeStatus('proto', code, message, retryDelayMs))
      .toString('base64')
      .replace(/=+$/, '');
  }
  return headers;
}

/** A unary call's OK reply: headers, the framed response message, then the trailers with grpc-status 0. */
export function respondGrpcOk(stream: http2.ServerHttp2Stream, framed: Uint8Array, headers: http2.OutgoingHttpHeaders = {}): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...headers }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(framed);
}

/** How a call ended, as its trailers (or the headers of a trailers-only reply) say. */
export interface GrpcCallStatus {
  code: number;
  /** grpc-message, percent-decoded. */
  message: string;
  /** The google.rpc.Status of grpc-status-details-bin, when the server sent one. */
  details: Buffer | undefined;
}

/** Reads a call's status from its trailers, else its headers; undefined when neither has grpc-status. */
export function readGrpcStatus(headers: http2.IncomingHttpHeaders, trailers: http2.IncomingHttpHeaders): GrpcCallStatus | undefined {
  const codeText = trailers['grpc-status'] ?? headers['grpc-status'];
  if (codeText === undefined) return undefined;
  const rawMessage = String(trailers['grpc-message'] ?? headers['grpc-message'] ?? '');
  let message = rawMessage;
  try {
    message = decodeURIComponent(rawMessage);
  } catch {
    // A message that is not percent-encoding is shown as sent.
  }
  const detailsText = trailers['grpc-status-details-bin'] ?? headers['grpc-status-details-bin'];
  return { code: Number(codeText), message, details: detailsText ? Buffer.from(String(detailsText), 'base64') : undefined };
}
