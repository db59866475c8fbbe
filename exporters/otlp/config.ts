import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';
import { grpcEndpointSchema, otlpGrpcClientShape } from '../../src/grpc/otlp-client.js';

export { parseGrpcEndpoint } from '../../src/grpc/otlp-client.js';

export const otlpExporterConfig = s.object({
  endpoint: grpcEndpointSchema(),
  ...otlpGrpcClientShape(),
  ...exporterHelperShape(),
});

export type OtlpExporterConfig = ConfigOf<typeof otlpExporterConfig>;
