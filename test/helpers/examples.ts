/** The OTLP/JSON sample requests of opentelemetry-proto (Apache-2.0), kept unchanged as test data. */
import { join } from 'node:path';

export const EXAMPLES_DIR = join(import.meta.dirname, '..', 'fixtures', 'otlp-examples');
