import { s, type ConfigIssue, type ConfigOf } from '../../src/core/schema.js';
import { re2RegExp } from '../../src/processorhelper/re2.js';

const patterns = (what: string) => s.array(s.string()).default([]).describe(what);

function checkRegexps(list: readonly string[], path: string[], issues: ConfigIssue[]): void {
  list.forEach((p, i) => {
    try {
      re2RegExp(p);
    } catch (err) {
      issues.push({ path: [...path, String(i)], message: `is not a valid regular expression: ${(err as Error).message}` });
    }
  });
}

export const redactionProcessorConfig = s.refine(
  s.object({
    allow_all_keys: s.bool().default(false).describe('Keep every attribute key (disables allowed_keys); blocked values are still masked'),
    allowed_keys: patterns('Attribute keys kept; every other key is removed unless allow_all_keys (fails closed: empty = remove all)'),
    ignored_keys: patterns('Attribute keys passed through untouched (neither removed nor masked)'),
    ignored_key_patterns: patterns('Regexps of attribute keys passed through untouched'),
    blocked_key_patterns: patterns('Regexps of attribute keys whose whole value is masked'),
    blocked_values: patterns('Regexps; the matching parts of attribute values (and string log bodies) are masked'),
    allowed_values: patterns('Regexps; a value matching one is never masked (takes precedence over blocked_values)'),
    redact_all_types: s.bool().default(false).describe('Also check non-string values (as their string form; a masked value becomes a string)'),
    hash_function: s.enum('none', 'md5', 'sha1', 'sha3').default('none').describe('Replace matches by their hex digest instead of ****'),
    url_sanitizer: s.notYet('replaces the variable parts of URL paths in attributes and span names with *'),
    db_sanitizer: s.notYet('removes literal values from SQL, Redis, MongoDB and other database statements'),
    summary: s
      .enum('debug', 'info', 'silent')
      .default('silent')
      .describe('Diagnostic attributes added where something was redacted: debug = keys and counts, info = counts'),
  }),
  (v, path, issues) => {
    checkRegexps(v.ignored_key_patterns, [...path, 'ignored_key_patterns'], issues);
    checkRegexps(v.blocked_key_patterns, [...path, 'blocked_key_patterns'], issues);
    checkRegexps(v.blocked_values, [...path, 'blocked_values'], issues);
    checkRegexps(v.allowed_values, [...path, 'allowed_values'], issues);
  },
);

export type RedactionProcessorConfig = ConfigOf<typeof redactionProcessorConfig>;
