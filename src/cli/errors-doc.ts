/** Renders docs/errors.md from the table of error codes (src/core/error-codes.ts). */
import { ERROR_CODES } from '../core/error-codes.js';

export function renderErrors(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from src/core/error-codes.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Every error GopherShip throws, logs or answers a client with carries a stable code (the `code` field of a',
    "log line's `error`, the `[GS_...]` of a CLI message). Match on the code: the wording of a message may change.",
    "An error about a component starts with the component's label, `<kind> <type>[/<name>]: `, for example",
    '`exporter otlphttp/2: sending queue is full (...)` or `receiver otlp: cannot listen on 0.0.0.0:4318: ...`.',
    '',
    '| code | meaning | what to do |',
    '| --- | --- | --- |',
  ];
  for (const [code, { meaning, action }] of Object.entries(ERROR_CODES)) lines.push(`| \`${code}\` | ${meaning} | ${action} |`);
  return lines.join('\n') + '\n';
}
