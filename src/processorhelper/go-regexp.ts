/**
 * A regular expression written for the collector (Go's RE2 syntax) as a JavaScript RegExp: `(?P<name>`
 * becomes `(?<name>`, and leading flags such as `(?i)` become the RegExp's flags (JavaScript has no inline
 * flags, so `new RegExp("(?i)health")` is a syntax error). Throws the RegExp's own error for a bad pattern.
 */
export function goRegExp(pattern: string, flags = ''): RegExp {
  let source = pattern.replace(/\(\?P</g, '(?<');
  const lead = /^\(\?([ims]+)\)/.exec(source);
  if (lead) {
    source = source.slice(lead[0].length);
    for (const f of lead[1]!) if (!flags.includes(f)) flags += f;
  }
  return new RegExp(source, flags);
}
