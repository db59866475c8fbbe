/**
 * Somatic backpressure: sensors, the zone controller (ambient), the admission gate (reflex) and the Yellow
 * bypass stage. See docs/somatic.md.
 */
export { AdmissionGate } from './gate.js';
export { BypassStage } from './bypass.js';
export { SomaticRuntime, DEFAULT_THRESHOLDS } from './runtime.js';
export { PressureSlot } from './slot.js';
export type { SomaticSettings, Thresholds, ThresholdKey, SensorState } from './runtime.js';
export { SENSOR_NAMES } from './sensors.js';
export type { Sensor, SensorName, RatioSource } from './sensors.js';
export { GREEN, YELLOW, RED, ZONE_NAMES, REPLAY_META, replayMeta, isReplay, zoneOf } from './zone.js';
export type { Zone, ZoneName } from './zone.js';
