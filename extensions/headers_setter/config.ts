import { s, type ConfigOf } from '../../src/core/schema.js';

const headerSchema = s.refine(
  s.object({
    key: s
      .string(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name')
      .mustBeSet()
      .describe('Header (gRPC metadata key) to set.'),
    value: s.string().default('').opaque().describe('A fixed value. Masked in print-config.'),
    from_context: s
      .string()
      .default('')
      .describe(
        "Take the value from the incoming request's client info: a header the receiver kept with include_metadata (x-tenant or metadata.x-tenant), auth.<attribute> or client.address.",
      ),
    from_attribute: s
      .string()
      .default('')
      .describe("Take the value from an attribute the receiver's authenticator set for the incoming request (subject, username, membership)."),
    value_file: s.notYet('reads the value from a file, re-read when it changes; give it as value: ${file:/path} (read at start)'),
    default_value: s.string().default('').opaque().describe('Value when from_context or from_attribute finds nothing (else the header is left alone).'),
    action: s
      .enum('insert', 'update', 'upsert', 'delete')
      .default('upsert')
      .describe('insert: only if absent; update: only if present; upsert: always; delete: remove the header.'),
  }),
  (v, path, issues) => {
    if (v.action === 'delete') return;
    const sources = [v.value && 'value', v.from_context && 'from_context', v.from_attribute && 'from_attribute'].filter(Boolean);
    if (sources.length > 1) issues.push({ path, message: `set one of value, from_context or from_attribute, not ${sources.join(' and ')}` });
    if (sources.length === 0) issues.push({ path, message: 'set value, from_context or from_attribute (or action: delete)' });
  },
);

export const headersSetterConfig = s.refine(
  s.object({
    headers: s.array(headerSchema).default([]).describe('The headers to set, in order.'),
    additional_auth: s.notYet('chains another client authenticator after these headers'),
  }),
  (v, path, issues) => {
    if (v.headers.length === 0) issues.push({ path: [...path, 'headers'], message: 'list at least one header' });
  },
);

export type HeadersSetterConfig = ConfigOf<typeof headersSetterConfig>;
