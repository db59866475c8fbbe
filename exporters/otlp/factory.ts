import type { ExporterFactory } from '../../src/core/component.js';
import { SIGNALS } from '../../src/core/signal.js';
import { otlpExporterConfig, type OtlpExporterConfig } from './config.js';
import { OtlpGrpcExporter } from './otlp-exporter.js';

export const otlpExporterFactory: ExporterFactory<OtlpExporterConfig> = {
  kind: 'exporter',
  type: 'otlp',
  aliases: ['otlp_grpc'],
  description: 'Sends OTLP over gRPC, forwarding the request bytes unchanged',
  signals: SIGNALS,
  config: otlpExporterConfig,
  create: (settings, config) => new OtlpGrpcExporter(settings, config),
};
