import { describe, expect, it } from 'vitest';
import { clientInfo } from '../../src/pdata/client-info.js';
import { headersSetterConfig } from './config.js';
import { HeadersSetterExtension } from './headers-setter.js';

function make(headers: unknown[]): HeadersSetterExtension {
  const issues: { path: string[]; message: string }[] = [];
  const config = headersSetterConfig.parse({ headers }, [], issues);
  expect(issues).toEqual([]);
  return new HeadersSetterExtension(config);
}

const meta = clientInfo({
  address: '10.0.0.7',
  auth: { attributes: { subject: 'svc-a' } },
  headers: { 'x-tenant': 'acme', authorization: 'Bearer never-copied' },
});

describe('headers_setter', () => {
  it("sets fixed values and values from the incoming request's metadata", () => {
    const ext = make([
      { key: 'X-Scope-OrgID', from_context: 'x-tenant' },
      { key: 'X-Caller', from_context: 'auth.subject' },
      { key: 'X-Peer', from_context: 'client.address' },
      { key: 'X-Env', value: 'prod' },
      { key: 'X-Prefixed', from_context: 'metadata.X-Tenant' },
    ]);
    const headers: Record<string, string> = {};
    ext.applyHeaders(headers, meta);
    expect(headers).toEqual({ 'x-scope-orgid': 'acme', 'x-caller': 'svc-a', 'x-peer': '10.0.0.7', 'x-env': 'prod', 'x-prefixed': 'acme' });
  });

  it('uses default_value when the metadata lacks the key, and leaves the header alone without one', () => {
    const ext = make([
      { key: 'X-Scope-OrgID', from_context: 'x-missing', default_value: 'anonymous' },
      { key: 'X-Other', from_context: 'x-missing' },
    ]);
    const headers: Record<string, string> = {};
    ext.applyHeaders(headers, undefined);
    expect(headers).toEqual({ 'x-scope-orgid': 'anonymous' });
  });

  it('never finds the incoming credential in the metadata', () => {
    const headers: Record<string, string> = {};
    make([{ key: 'X-Leak', from_context: 'authorization' }]).applyHeaders(headers, meta);
    expect(headers).toEqual({});
  });

  it('applies insert, update, upsert and delete as the collector does', () => {
    const ext = make([
      { key: 'a', value: 'new', action: 'insert' },
      { key: 'b', value: 'new', action: 'insert' },
      { key: 'c', value: 'new', action: 'update' },
      { key: 'd', value: 'new', action: 'update' },
      { key: 'e', value: 'new', action: 'upsert' },
      { key: 'f', action: 'delete' },
    ]);
    const headers: Record<string, string> = { a: 'old', c: 'old', e: 'old', f: 'old' };
    ext.applyHeaders(headers, undefined);
    expect(headers).toEqual({ a: 'old', b: 'new', c: 'new', e: 'new' });
  });

  it('config: one value source per header, at least one header', () => {
    const issues: { path: string[]; message: string }[] = [];
    headersSetterConfig.parse({ headers: [{ key: 'a', value: 'x', from_context: 'y' }, { key: 'b' }] }, [], issues);
    expect(issues.map((i) => i.message)).toEqual([
      'set one of value, from_context or from_attribute, not value and from_context',
      'set value, from_context or from_attribute (or action: delete)',
    ]);
    const none: typeof issues = [];
    headersSetterConfig.parse({}, [], none);
    expect(none[0]!.message).toMatch(/at least one header/);
  });

  it("from_attribute (the collector's key) takes an attribute of the receiver's authenticator, with default_value as fallback", () => {
    const ext = make([
      { key: 'X-Scope-OrgID', from_attribute: 'subject' },
      { key: 'X-Group', from_attribute: 'membership', default_value: 'none' },
    ]);
    const headers: Record<string, string> = {};
    ext.applyHeaders(headers, meta);
    expect(headers).toEqual({ 'x-scope-orgid': 'svc-a', 'x-group': 'none' });
    // A header cannot pose as an authenticator's attribute.
    const posing: Record<string, string> = {};
    ext.applyHeaders(posing, clientInfo({ headers: { subject: 'forged', 'auth.subject': 'forged' } }));
    expect(posing).toEqual({ 'x-group': 'none' });
  });

  it("config: the collector's value_file and additional_auth are not supported yet (not unknown keys), from_attribute excludes the other sources", () => {
    const issues: { path: string[]; message: string }[] = [];
    headersSetterConfig.parse(
      {
        headers: [
          { key: 'a', value_file: '/run/secret' },
          { key: 'b', from_attribute: 'subject', value: 'x' },
        ],
        additional_auth: 'oauth2client',
      },
      [],
      issues,
    );
    expect(issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      expect.stringMatching(/^headers\.0\.value_file: not supported yet by GopherShip \(reads the value from a file/),
      'headers.1: set one of value, from_context or from_attribute, not value and from_attribute',
      expect.stringMatching(/^additional_auth: not supported yet by GopherShip/),
    ]);
  });
});
