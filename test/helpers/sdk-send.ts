/** Sends log records with the official SDK exporter of a protocol, with headers (gRPC: metadata), as an app would. */
import { Metadata } from '@grpc/grpc-js';
import { OTLPLogExporter as LogsHttpProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';

export async function sendLogsWithSdk(
  protocol: 'http' | 'grpc',
  address: string,
  headers: Record<string, string>,
  logs: ReadableLogRecord[],
): Promise<ExportResult> {
  let exporter: LogsHttpProto | LogsGrpc;
  if (protocol === 'http') exporter = new LogsHttpProto({ url: `http://${address}/v1/logs`, headers });
  else {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    exporter = new LogsGrpc({ url: `http://${address}`, metadata });
  }
  try {
    return await new Promise<ExportResult>((resolve) => exporter.export(logs, resolve));
  } finally {
    await exporter.shutdown();
  }
}
