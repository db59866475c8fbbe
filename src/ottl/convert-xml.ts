/**
 * OTTL's ParseXML (ottlfuncs README): an XML document as a map, element by element, as the collector's
 * converter builds it with Go's encoding/xml:
 * - `tag`: the element's local name (without its namespace prefix, as Go's Name.Local);
 * - `content`: its character data (text and CDATA), each run trimmed of white space and the runs joined;
 *   absent when empty;
 * - `attributes`: a map of its attributes by local name; absent when it has none;
 * - `children`: a list of its child elements, each built the same way; absent when it has none.
 * Comments, processing instructions and the doctype are left out. A document that is not well-formed XML
 * (saxes, a conforming XML 1.0 parser: unclosed or mismatched tags, an undefined entity, text or a second
 * element after the root) is an error, as is a target that is not a string.
 */
import { SaxesParser } from 'saxes';
import { needString, one, type Converter } from './function-args.js';
import { OttlRuntimeError } from './paths.js';
import type { Value, ValueMap } from './values.js';

interface Element {
  tag: string;
  content: string;
  attributes: ValueMap | undefined;
  children: ValueMap[];
}

/** The local part of a qualified name (`evt:Event` -> `Event`), as Go's decoder reports it. */
const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

function asMap(e: Element): ValueMap {
  const m: ValueMap = new Map<string, Value>([['tag', e.tag]]);
  if (e.content !== '') m.set('content', e.content);
  if (e.attributes) m.set('attributes', e.attributes);
  if (e.children.length > 0) m.set('children', e.children);
  return m;
}

export function parseXml(text: string): ValueMap {
  const parser = new SaxesParser();
  const open: Element[] = [];
  let root: ValueMap | undefined;
  const chars = (data: string): void => {
    const top = open[open.length - 1];
    if (top) top.content += data.trim();
  };
  parser.on('opentag', (node) => {
    let attributes: ValueMap | undefined;
    for (const [name, value] of Object.entries(node.attributes)) (attributes ??= new Map()).set(localName(name), value as string);
    open.push({ tag: localName(node.name), content: '', attributes, children: [] });
  });
  parser.on('text', chars);
  parser.on('cdata', chars);
  parser.on('closetag', () => {
    const done = asMap(open.pop()!);
    const parent = open[open.length - 1];
    if (parent) parent.children.push(done);
    else root = done;
  });
  try {
    parser.write(text).close();
  } catch (err) {
    throw new OttlRuntimeError(`ParseXML: not well-formed XML: ${(err as Error).message}`);
  }
  return root!;
}

export const XML_CONVERTERS: Record<string, Converter> = {
  ParseXML: one((v, fn) => parseXml(needString(v, fn))),
};
