/**
 * Starting while NATS or JetStream is not ready, as the `nats` exporter and receiver both do: the first
 * connection of a start, which lets an unreachable server pass (connecting goes on in the background) and
 * stops the start on a refusal that will not heal; the background connecting; and the backoff of the
 * setup that JetStream cannot take yet (the exporter's stream, the receiver's durable consumer).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { messageOf } from '../core/errors.js';
import { maskUrlCredentials } from '../core/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { connectNats, isUnreachable, type NatsConnectionConfig } from './connection.js';

/** The first wait before a setup is tried again, and the longest: the wait doubles from one to the other. */
export const SETUP_FIRST_WAIT_MS = 200;
export const SETUP_MAX_WAIT_MS = 2000;

/**
 * The first connection of a start, or undefined when no server answers yet, which is logged once with
 * what the component does meanwhile (`meanwhile`): the caller connects in the background (connectLater).
 * A file the gateway cannot use, or credentials or certificates a server refused, throw: a start error.
 */
export async function connectAtStart(c: NatsConnectionConfig, label: string, logger: Logger, meanwhile: string): Promise<NatsConnection | undefined> {
  try {
    return await connectNats(c, label, logger);
  } catch (err) {
    if (!isUnreachable((err as Error).cause)) throw err;
    logger.warn(`no NATS server answers yet; starting anyway and connecting in the background (${meanwhile})`, {
      servers: c.servers.map(maskUrlCredentials),
      error: messageOf((err as Error).cause),
    });
    return undefined;
  }
}

/**
 * Connects every reconnect_wait until a server takes the connection, or undefined once `signal` aborts.
 * A refusal (credentials a server refused) is logged once, and again only when it changes: the same one
 * at every attempt would flood the log.
 */
export async function connectLater(c: NatsConnectionConfig, label: string, logger: Logger, signal: AbortSignal): Promise<NatsConnection | undefined> {
  let lastRefusal = '';
  while (!signal.aborted) {
    await sleep(c.reconnect_wait, undefined, { signal }).catch(() => {});
    if (signal.aborted) return undefined;
    let nc: NatsConnection;
    try {
      nc = await connectNats(c, label, logger);
    } catch (err) {
      const refusal = isUnreachable((err as Error).cause) ? '' : messageOf(err);
      if (refusal && refusal !== lastRefusal) logger.error('cannot connect to NATS; trying again every reconnect_wait', { error: refusal });
      lastRefusal = refusal;
      continue;
    }
    if (signal.aborted) {
      await nc.close();
      return undefined;
    }
    logger.info('connected to NATS', { servers: c.servers.map(maskUrlCredentials) });
    return nc;
  }
  return undefined;
}

/**
 * Runs `attempt` until it succeeds (true) or `signal` aborts (false), waiting SETUP_FIRST_WAIT_MS before
 * the first try and twice as long after each failure, up to SETUP_MAX_WAIT_MS. `failed` hears each
 * failure (to say what the component waits for when that changes).
 */
export async function retryUntilReady(attempt: () => Promise<void>, signal: AbortSignal, failed: (err: unknown) => void): Promise<boolean> {
  for (let wait = SETUP_FIRST_WAIT_MS; !signal.aborted; wait = Math.min(wait * 2, SETUP_MAX_WAIT_MS)) {
    await sleep(wait, undefined, { signal }).catch(() => {});
    if (signal.aborted) return false;
    try {
      await attempt();
      return true;
    } catch (err) {
      if (!signal.aborted) failed(err);
    }
  }
  return false;
}
