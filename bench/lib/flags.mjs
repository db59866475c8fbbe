// Command-line flag values the bench scripts share.

/** A duration flag (`500ms`, `12s`, `1m`; a bare number is seconds) in ms; a malformed one names the flag. */
export function durationFlag(flag, v) {
  const m = String(v).match(/^(\d+(?:\.\d+)?)(ms|s|m)?$/);
  if (!m) throw new Error(`--${flag}: expected a duration like 500ms, 12s, 1m; got "${v}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] ?? 's'];
}
