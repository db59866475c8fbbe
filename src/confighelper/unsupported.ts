/**
 * A collector key the gateway knows but does not implement: present in a config, it is reported as
 * "not supported yet" (with what to do), never as an unknown key.
 */
import { Schema, type ConfigIssue, type SchemaDoc } from '../core/schema.js';

class NotSupportedSchema extends Schema<undefined> {
  constructor(private readonly hint: string) {
    super();
  }
  protected check(_v: unknown, path: string[], issues: ConfigIssue[]): undefined {
    issues.push({ path, message: `not supported yet; ${this.hint}` });
    return undefined;
  }
  doc(): SchemaDoc {
    return { type: 'unsupported', description: `Not supported yet: ${this.hint}` };
  }
}

export function notSupported(hint: string): Schema<undefined> {
  return new NotSupportedSchema(hint);
}
