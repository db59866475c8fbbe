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

/**
 * The `meta` object of every payload the debt replayer feeds back. Compared by identity (one shared
 * object), so marking and recognising a replayed payload costs nothing; the Yellow bypass lets these
 * through the full pipeline.
 */
export const REPLAY_META: Readonly<Record<string, string>> = Object.freeze({ 'gophership.somatic': 'replay' });

export function isReplay(meta: Readonly<Record<string, string>> | undefined): boolean {
  return meta === REPLAY_META;
}
