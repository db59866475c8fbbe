/**
 * RE2 patterns as collector configs write them, read the way Go's regexp reads them: each row is a pattern,
 * a text, and what Go's regexp.MatchString answers (or that the pattern is refused at load).
 */
import { describe, expect, it } from 'vitest';
import { re2RegExp } from './re2.js';

describe('RE2 patterns in JavaScript', () => {
  it.each([
    ['(?i)health', 'GET /HEALTH', true],
    ['(?is)a.b', 'A\nB', true],
    ['(?P<code>\\d{3})', 'status 503', true],
    ['^[[:digit:]]+$', '12345', true],
    ['^[[:digit:]]+$', '12a45', false],
    ['[[:alpha:]_][[:alnum:]_]*', '9', false],
    ['^[[:space:][:punct:]]+$', ' .;-! ', true],
    ['^[[:xdigit:]]{4}$', '0aF9', true],
    ['^[[:upper:]][[:lower:]]+$', 'Hello', true],
    ['\\Aabc\\z', 'abc', true],
    ['\\Aabc\\z', 'abc\n', false],
    ['(?m)^b$', 'a\nb\nc', true],
    ['(?m)\\Ab', 'a\nb', false],
    ['\\Qa.b*c\\E', 'a.b*c', true],
    ['\\Qa.b*c\\E', 'axbbc', false],
    ['[]a]+', ']a]', true],
    ['[^]a]', ']', false],
    ['[a-c[]', '[', true],
  ])('%s on %j: %s', (pattern, text, expected) => {
    expect(re2RegExp(pattern).test(text)).toBe(expected);
  });

  it('named groups keep their names', () => {
    expect(re2RegExp('(?P<user>\\w+)@').exec('bob@x')!.groups).toEqual({ user: 'bob' });
  });

  it.each([
    ['a(?i)b', /flags after the start of a pattern are not supported yet by GopherShip/],
    ['(?U)a+', /\(\?U\) flag \(ungreedy\) has no JavaScript equivalent/],
    ['[[:^digit:]]', /negated POSIX class \[:\^digit:\] is not supported yet/],
    ['[[:digits:]]', /unknown POSIX class/],
    ['\\pL+', /Unicode classes are not supported yet/],
    ['(unclosed', /Unterminated group/],
  ])('%s is refused with the reason', (pattern, err) => {
    expect(() => re2RegExp(pattern)).toThrow(err);
  });
});
