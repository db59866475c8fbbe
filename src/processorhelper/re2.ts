/**
 * Go's RE2 syntax, as collector configs write it, as a JavaScript RegExp. Most of RE2 reads the same in
 * JavaScript; what does not is translated here rather than failing or, worse, matching something else:
 *
 *   (?i) (?s) (?m) (?is)... at the start  ->  flags          (?P<name>  ->  (?<name>
 *   [[:digit:]] and the other POSIX classes  ->  ranges      \A  \z  ->  start / end of the text
 *   \Q...\E  ->  the text between, escaped
 *
 * What has no translation (flags after the start, (?U), negated POSIX classes, \pN Unicode classes) is
 * refused with a SyntaxError that names it, so a config using it fails at load instead of matching
 * differently.
 */

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const escapeLiteral = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** The JavaScript source and flags for an RE2 pattern; throws SyntaxError for what JS cannot express. */
export function re2Source(pattern: string): { source: string; flags: string } {
  let p = pattern;
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(p);
  if (lead) {
    if (lead[1]!.includes('U')) throw new SyntaxError('the (?U) flag (ungreedy) has no JavaScript equivalent');
    flags = [...new Set(lead[1]!)].join('');
    p = p.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === 'Q') {
        const end = p.indexOf('\\E', i + 2);
        const text = p.slice(i + 2, end < 0 ? p.length : end);
        out += escapeLiteral(text);
        i = end < 0 ? p.length : end + 1;
      } else if (!inClass && n === 'A') {
        out += '(?<![\\s\\S])';
        i++;
      } else if (!inClass && n === 'z') {
        out += '(?![\\s\\S])';
        i++;
      } else if (n === 'p' || n === 'P') {
        throw new SyntaxError(`\\${n} Unicode classes are not supported yet by GopherShip`);
      } else {
        out += c + (n ?? '');
        i++;
      }
      continue;
    }
    if (inClass) {
      if (c === '[' && p[i + 1] === ':') {
        const end = p.indexOf(':]', i + 2);
        const name = end < 0 ? undefined : p.slice(i + 2, end);
        if (name !== undefined && name.startsWith('^')) throw new SyntaxError(`the negated POSIX class [:${name}:] is not supported yet by GopherShip`);
        const range = name === undefined ? undefined : POSIX[name];
        if (range === undefined) throw new SyntaxError(`unknown POSIX class in "${pattern}"`);
        out += range;
        i = end + 1;
      } else if (c === '[') out += '\\[';
      else {
        if (c === ']') inClass = false;
        out += c;
      }
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // RE2 reads a "]" first in a class (after an optional "^") as a literal; JavaScript as the end.
      if (p[i + 1] === '^') out += p[++i];
      if (p[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && p.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    if (c === '(' && /^\(\?[imsU-]+[):]/.test(p.slice(i)))
      throw new SyntaxError('flags after the start of a pattern are not supported yet by GopherShip; put them first, e.g. (?i)');
    out += c;
  }
  return { source: out, flags };
}

/** An RE2 pattern as a RegExp (`extraFlags`: e.g. "g"); throws SyntaxError with the reason. */
export function re2RegExp(pattern: string, extraFlags = ''): RegExp {
  const { source, flags } = re2Source(pattern);
  return new RegExp(source, flags + extraFlags);
}
