/** The three somatic zones. Numbers so the reflex compares integers and the gauge exports them as is. */
export const GREEN = 0;
export const YELLOW = 1;
export const RED = 2;
export type Zone = 0 | 1 | 2;

export const ZONE_NAMES = ['green', 'yellow', 'red'] as const;
export type ZoneName = (typeof ZONE_NAMES)[number];

export function zoneOf(name: ZoneName): Zone {
  return ZONE_NAMES.indexOf(name) as Zone;
}

/** The key that marks replayed debt in a payload's meta (client info never uses the `gophership.` prefix). */
export const REPLAY_KEY = 'gophership.somatic';

/**
 * The `meta` object of a replayed payload whose request carried no client info. One shared object, so
 * marking and recognising the common case costs an identity compare; the Yellow bypass lets replayed
 * payloads through the full pipeline.
 */
export const REPLAY_META: Readonly<Record<string, string>> = Object.freeze({ [REPLAY_KEY]: 'replay' });

/** The meta of a replayed payload: its request's client info (kept in the WAL record's tag) plus the mark. */
export function replayMeta(client: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  return client === undefined ? REPLAY_META : { ...client, [REPLAY_KEY]: 'replay' };
}

export function isReplay(meta: Readonly<Record<string, string>> | undefined): boolean {
  return meta !== undefined && (meta === REPLAY_META || meta[REPLAY_KEY] === 'replay');
}
