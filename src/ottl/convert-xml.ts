/**
 * OTTL's ParseXML and ParseSimplifiedXML (ottlfuncs README). ParseXML: an XML document as a map, element by
 * element, as the collector's converter builds it with Go's encoding/xml:
 * - `tag`: the element's local name (without its namespace prefix, as Go's Name.Local);
 * - `content`: its character data (text and CDATA), each run trimmed of white space and the runs joined;
 *   absent when empty;
 * - `attributes`: a map of its attributes by local name; absent when it has none;
 * - `children`: a list of its child elements, each built the same way; absent when it has none.
 * Comments, processing instructions and the doctype are left out. ParseSimplifiedXML: see
 * simplifiedChildren. For both, a document that is not well-formed XML
 * (saxes, a conforming XML 1.0 parser: unclosed or mismatched tags, an undefined entity, text or a second
 * element after the root) is an error, as is a target that is not a string.
 */
import { SaxesParser } from 'saxes';
import { needString, one, type Converter } from './function-args.js';
import { OttlRuntimeError } from './paths.js';
import type { Value, ValueMap } from './values.js';

/** An element as the parser read it: its local name, attributes, and child nodes in document order. */
interface Element {
  tag: string;
  attributes: ValueMap | undefined;
  /** Child elements, and character data (text or CDATA) runs as they came, untrimmed. */
  nodes: (Element | string)[];
}

/** The local part of a qualified name (`evt:Event` -> `Event`), as Go's decoder reports it. */
const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

/** The root element of `text`, or the error of a document that is not well-formed XML. */
function parseDocument(text: string, fn: string): Element {
  const parser = new SaxesParser();
  const open: Element[] = [];
  let root: Element | undefined;
  const chars = (data: string): void => void open[open.length - 1]?.nodes.push(data);
  parser.on('opentag', (node) => {
    let attributes: ValueMap | undefined;
    for (const [name, value] of Object.entries(node.attributes)) (attributes ??= new Map()).set(localName(name), value as string);
    const element: Element = { tag: localName(node.name), attributes, nodes: [] };
    const parent = open[open.length - 1];
    if (parent) parent.nodes.push(element);
    else root = element;
    open.push(element);
  });
  parser.on('text', chars);
  parser.on('cdata', chars);
  parser.on('closetag', () => void open.pop());
  try {
    parser.write(text).close();
  } catch (err) {
    throw new OttlRuntimeError(`${fn}: not well-formed XML: ${(err as Error).message}`);
  }
  return root!;
}

/** ParseXML's map of one element (see the top of this file). */
function elementMap(e: Element): ValueMap {
  const m: ValueMap = new Map<string, Value>([['tag', e.tag]]);
  let content = '';
  const children: ValueMap[] = [];
  for (const n of e.nodes) {
    if (typeof n === 'string') content += n.trim();
    else children.push(elementMap(n));
  }
  if (content !== '') m.set('content', content);
  if (e.attributes) m.set('attributes', e.attributes);
  if (children.length > 0) m.set('children', children);
  return m;
}

export function parseXml(text: string): ValueMap {
  return elementMap(parseDocument(text, 'ParseXML'));
}

/**
 * ParseSimplifiedXML's map of `parent`'s child elements, as the collector's builds it (with xmlquery):
 * an element without child elements is its first text or CDATA run (as written, not trimmed); one with
 * child elements is a map of them, its own text ignored; siblings of one tag make a list; an element with
 * no content at all is left out, and so is one whose map comes out empty, though both count toward making
 * their tag a list. Attributes are ignored.
 */
function simplifiedChildren(parent: Element, into: ValueMap): void {
  const count = new Map<string, number>();
  for (const n of parent.nodes) if (typeof n !== 'string') count.set(n.tag, (count.get(n.tag) ?? 0) + 1);
  for (const child of parent.nodes) {
    if (typeof child === 'string' || child.nodes.length === 0) continue;
    const hasElements = child.nodes.some((n) => typeof n !== 'string');
    const leaf = hasElements ? '' : ((child.nodes.find((n) => typeof n === 'string') as string | undefined) ?? '');
    const inList = count.get(child.tag)! > 1;
    let list: Value[] | undefined;
    if (inList) {
      const had = into.get(child.tag);
      if (Array.isArray(had)) list = had;
      else into.set(child.tag, (list = []));
    }
    let value: Value;
    if (leaf !== '') value = leaf;
    else {
      const m: ValueMap = new Map();
      simplifiedChildren(child, m);
      if (m.size === 0) continue;
      value = m;
    }
    if (list) list.push(value);
    else into.set(child.tag, value);
  }
}

export function parseSimplifiedXml(text: string): ValueMap {
  const out: ValueMap = new Map();
  // The document holds the root as its one child element.
  simplifiedChildren({ tag: '', attributes: undefined, nodes: [parseDocument(text, 'ParseSimplifiedXML')] }, out);
  return out;
}

export const XML_CONVERTERS: Record<string, Converter> = {
  ParseXML: one((v, fn) => parseXml(needString(v, fn))),
  ParseSimplifiedXML: one((v, fn) => parseSimplifiedXml(needString(v, fn))),
};
