/**
 * UserAgent (ottlfuncs README): a User-Agent header parsed as the collector parses it, with uap-go and
 * the uap-core regex set. GopherShip reads the same regexes.yaml (the uap-core package), compiled as Go
 * regexps (re2.ts) once, on the first config that uses UserAgent, and applies the uap specification:
 * the first matching rule wins, its replacements take $1..$9, else the groups give family and versions.
 * Parsed headers are cached (a log stream repeats a few agents), as uap-go's parser caches them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parse } from 'yaml';
import { re2RegExp } from '../processorhelper/re2.js';
import { needString, type Converter } from './function-args.js';
import type { ValueMap } from './values.js';

interface Rule {
  re: RegExp;
  /** Replacements for family (or OS), then the version parts, in the yaml's order. */
  replace: (string | undefined)[];
}

interface Parsed {
  name: string;
  version: string;
  osName: string;
  osVersion: string;
}

let rules: { ua: Rule[]; os: Rule[] } | undefined;

function loadRules(): { ua: Rule[]; os: Rule[] } {
  if (rules) return rules;
  const file = createRequire(import.meta.url).resolve('uap-core/regexes.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>[]>;
  const compile = (list: Record<string, string>[], keys: string[]): Rule[] =>
    list.map((r) => ({ re: re2RegExp(r.regex!, r.regex_flag === 'i' ? 'i' : ''), replace: keys.map((k) => r[k]) }));
  rules = {
    ua: compile(doc.user_agent_parsers!, ['family_replacement', 'v1_replacement', 'v2_replacement', 'v3_replacement']),
    os: compile(doc.os_parsers!, ['os_replacement', 'os_v1_replacement', 'os_v2_replacement', 'os_v3_replacement', 'os_v4_replacement']),
  };
  return rules;
}

/** The first matching rule's fields: each its replacement ($N from the groups) or its own group. */
function match(list: Rule[], text: string): string[] | undefined {
  for (const rule of list) {
    const m = rule.re.exec(text);
    if (!m) continue;
    return rule.replace.map((rep, i) => (rep === undefined ? (m[i + 1] ?? '') : rep.replace(/\$(\d)/g, (_, n: string) => m[Number(n)] ?? '').trim()));
  }
  return undefined;
}

/** uap's version string: the parts that are there, joined with dots. */
function versionOf(parts: string[]): string {
  let out = '';
  for (const p of parts) {
    if (p === '') break;
    out += out === '' ? p : `.${p}`;
  }
  return out;
}

const CACHE_SIZE = 1024;
const cache = new Map<string, Parsed>();

export function parseUserAgent(text: string): Parsed {
  const hit = cache.get(text);
  if (hit) return hit;
  const { ua, os } = loadRules();
  const u = match(ua, text);
  const o = match(os, text);
  const parsed: Parsed = {
    name: u?.[0] || 'Other',
    version: u ? versionOf(u.slice(1)) : '',
    osName: o?.[0] || 'Other',
    osVersion: o ? versionOf(o.slice(1)) : '',
  };
  // A bounded cache: the oldest entry leaves when it is full.
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(text, parsed);
  return parsed;
}

export const USER_AGENT_CONVERTERS: Record<string, Converter> = {
  UserAgent: {
    params: [{ name: 'value' }],
    build: (args, fn) => {
      loadRules();
      const g = args[0]!.get;
      return (ctx) => {
        const text = needString(g(ctx), fn);
        const p = parseUserAgent(text);
        const out: ValueMap = new Map([
          ['user_agent.name', p.name],
          ['user_agent.version', p.version],
          ['user_agent.original', text],
        ]);
        if (p.osName !== '') out.set('os.name', p.osName);
        if (p.osVersion !== '') out.set('os.version', p.osVersion);
        return out;
      };
    },
  },
};
