/**
 * Small helpers for OTTL's tests and docs examples: a one-record request of each signal built from plain
 * values, and running statements on it.
 */
import { create } from '@bufbuild/protobuf';
import { ExportLogsServiceRequestSchema, type ExportLogsServiceRequest } from '../../proto/gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js';
import { LogRecordSchema, ResourceLogsSchema, ScopeLogsSchema, type LogRecord } from '../../proto/gen/opentelemetry/proto/logs/v1/logs_pb.js';
import { ResourceSchema } from '../../proto/gen/opentelemetry/proto/resource/v1/resource_pb.js';
import { compileStatement, type OttlSignal } from './compile.js';
import { runStatements, type ErrorMode } from './run.js';
import { toAnyValue, toKeyValues, type Value, type ValueMap } from './values.js';

export const vmap = (o: Record<string, Value>): ValueMap => new Map(Object.entries(o));

export interface LogSpec {
  body?: Value;
  attributes?: Record<string, Value>;
  resource?: Record<string, Value>;
  severityText?: string;
  severityNumber?: number;
  timeUnixNano?: bigint;
  traceId?: Uint8Array;
}

export function logRequest(spec: LogSpec): ExportLogsServiceRequest {
  const rec = create(LogRecordSchema, {
    attributes: toKeyValues(vmap(spec.attributes ?? {})),
    severityText: spec.severityText ?? '',
    severityNumber: spec.severityNumber ?? 0,
    timeUnixNano: spec.timeUnixNano ?? 0n,
    traceId: spec.traceId ?? new Uint8Array(0),
  });
  if (spec.body !== undefined) rec.body = toAnyValue(spec.body);
  return create(ExportLogsServiceRequestSchema, {
    resourceLogs: [
      create(ResourceLogsSchema, {
        resource: create(ResourceSchema, { attributes: toKeyValues(vmap(spec.resource ?? {})) }),
        scopeLogs: [create(ScopeLogsSchema, { logRecords: [rec] })],
      }),
    ],
  });
}

export function firstLog(req: ExportLogsServiceRequest): LogRecord {
  return req.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
}

/** Runs statements (log context) on a one-record request; returns it. */
export function runOnLog(statements: string[], spec: LogSpec, errorMode: ErrorMode = 'propagate', signal: OttlSignal = 'logs'): ExportLogsServiceRequest {
  const req = logRequest(spec);
  const compiled = statements.map((s) => compileStatement(s, 'log', signal));
  runStatements('logs', req, [{ context: 'log', conditions: [], statements: compiled }], { errorMode });
  return req;
}
