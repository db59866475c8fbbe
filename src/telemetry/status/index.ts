/** The live status page beside /metrics: a sampler (ring buffer of the last minutes) and its routes. */
export {
  StatusSampler,
  ZONE_NAMES,
  type StatusOptions,
  type StatusPipeline,
  type StatusPoint,
  type StatusSnapshot,
  type StatusSource,
  type MetricReading,
  type ZoneName,
} from './sampler.js';
export { registerStatusRoutes, statusJsonHandler, statusPageHandler } from './routes.js';
export { STATUS_PAGE_HTML } from './page.js';
