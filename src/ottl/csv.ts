/**
 * ParseCSV's reading (convert-text.ts): one row as Go's encoding/csv reads it, lines after the first
 * continuing the last field, and a row's fields keyed by headers.
 */
import { OttlRuntimeError } from './paths.js';
import type { ValueMap } from './values.js';

export function readCsv(row: string, delimiter: string, lazyQuotes: boolean): string[] {
  const text = row.replace(/\r\n/g, '\n');
  let line = 1;
  const fail = (why: string) => new OttlRuntimeError(`ParseCSV: read csv line: parse error on line ${line}: ${why}`);
  const records: string[][] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '\n') {
      // Blank lines are skipped.
      i++;
      line++;
      continue;
    }
    const record: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) {
            if (!lazyQuotes) throw fail('extraneous or missing " in quoted-field');
            break;
          }
          const c = text[i]!;
          if (c === '"') {
            const next = text[i + 1];
            if (next === '"') {
              field += '"';
              i += 2;
            } else if (next === undefined || next === '\n' || text.startsWith(delimiter, i + 1)) {
              i++;
              break;
            } else if (lazyQuotes) {
              field += '"';
              i++;
            } else throw fail('extraneous or missing " in quoted-field');
          } else {
            if (c === '\n') line++;
            field += c;
            i++;
          }
        }
      } else {
        while (i < text.length && text[i] !== '\n' && !text.startsWith(delimiter, i)) {
          if (text[i] === '"' && !lazyQuotes) throw fail('bare " in non-quoted-field');
          field += text[i++];
        }
      }
      record.push(field);
      if (i < text.length && text.startsWith(delimiter, i)) {
        i += delimiter.length;
        continue;
      }
      // The newline ending the record, or past the end.
      i++;
      line++;
      break;
    }
    records.push(record);
  }
  if (records.length === 0) throw new OttlRuntimeError('ParseCSV: no csv lines found');
  const joined = records[0]!;
  for (const next of records.slice(1)) {
    joined[joined.length - 1] += `\n${next[0]}`;
    joined.push(...next.slice(1));
  }
  return joined;
}

export function csvMap(headers: string[], fields: string[]): ValueMap {
  if (headers.length !== fields.length)
    throw new OttlRuntimeError(`ParseCSV: map csv headers: wrong number of fields: expected ${headers.length}, found ${fields.length}`);
  const out: ValueMap = new Map();
  headers.forEach((h, i) => out.set(h, fields[i]!));
  return out;
}
