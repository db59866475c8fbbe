import { s, type ConfigOf } from '../../src/core/schema.js';

/** The forward connector has no settings (as the collector's). */
export const forwardConnectorConfig = s.object({});

export type ForwardConnectorConfig = ConfigOf<typeof forwardConnectorConfig>;
