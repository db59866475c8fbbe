import { s, type ConfigOf } from '../../src/core/schema.js';
import { exporterHelperShape } from '../../src/exporterhelper/index.js';
import { checkGrpcClient, grpcEndpointSchema, otlpGrpcClientShape } from '../../src/grpc/otlp-client.js';

export { parseGrpcEndpoint } from '../../src/grpc/otlp-client.js';

export const otlpExporterConfig = s.refine(
  s.object({
    endpoint: grpcEndpointSchema(),
    ...otlpGrpcClientShape(),
    ...exporterHelperShape(),
  }),
  checkGrpcClient,
);

export type OtlpExporterConfig = ConfigOf<typeof otlpExporterConfig>;
