/** Endpoint helpers shared by every listening component. */
import type { Server } from 'node:net';
import { s } from './schema.js';
import { CodedError } from './errors.js';

/** `host:port`, `[v6]:port` or `:port` (all interfaces). */
export const ENDPOINT_RE = /^(\[[0-9A-Fa-f:.]+\]|[^:\s[\]]*):(\d{1,5})$/;
export const ENDPOINT_HINT = 'an endpoint host:port such as localhost:4318, 0.0.0.0:4318, [::1]:4318 or :4318';

/**
 * The config key of a listening endpoint: host:port checked at validation (so `validate` finds what start
 * would refuse), port at most 65535. With `allowEmpty`, '' is accepted too (the key's "disabled").
 */
export function endpointSchema(defaultValue: string, description: string, allowEmpty = false) {
  const pattern = allowEmpty ? new RegExp(`^$|${ENDPOINT_RE.source}`) : ENDPOINT_RE;
  const inner = s
    .string(pattern, allowEmpty ? `${ENDPOINT_HINT}, or empty` : ENDPOINT_HINT)
    .default(defaultValue)
    .describe(description);
  return s.refine(inner, (v, path, issues) => {
    if (Number(ENDPOINT_RE.exec(v)?.[2]) > 65535) issues.push({ path, message: `"${v}": the port must be at most 65535` });
  });
}

/** Splits an endpoint into host and port; `label` (the config key) prefixes the error. */
export function parseEndpoint(endpoint: string, label?: string): { host: string; port: number } {
  const prefix = label ? `${label}: ` : '';
  const m = ENDPOINT_RE.exec(endpoint.trim());
  if (!m) throw new CodedError('GS_CONFIG_INVALID', `${prefix}"${endpoint}" is not ${ENDPOINT_HINT}`);
  let host = m[1]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  const port = Number(m[2]);
  if (port > 65535) throw new CodedError('GS_CONFIG_INVALID', `${prefix}"${endpoint}": port ${port} is above 65535`);
  return { host, port };
}

/** Listens, turning a bind failure into an error that names the endpoint and the config key. */
export function listen(server: Server, host: string, port: number, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new CodedError(
          'GS_LISTEN_FAILED',
          `${label}: cannot listen on ${host}:${port}: ${err.code ?? err.message}${err.code === 'EADDRINUSE' ? ' (another process uses this port; change the endpoint)' : ''}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
