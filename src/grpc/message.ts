/** The grpc-message header's encoding (gRPC over HTTP/2 spec), which src/grpc/status.ts does not cover. */

/** Percent-encodes a grpc-message value as the gRPC HTTP/2 spec asks (bytes outside 0x20-0x7E, and '%'). */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const b of Buffer.from(message, 'utf8')) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? '%' + b.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(b);
  }
  return out;
}
