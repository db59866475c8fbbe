import { describe, expect, it } from 'vitest';
import { fromKeyValues, type Value } from './values.js';
import { firstLog, runOnLog, vmap } from './test-support.js';

const parsed = (xml: string): Value =>
  fromKeyValues(firstLog(runOnLog(['set(attributes["out"], ParseXML(body))'], { body: xml })).attributes).get('out') ?? null;

describe('ParseXML (ottlfuncs README)', () => {
  it("builds the README's example: tag, trimmed content, attributes and children; the declaration left out", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8" ?>
<Log>
  <User>
    <ID>00001</ID>
    <Name type="first">Joe</Name>
    <Email>joe.smith@example.com</Email>
  </User>
  <Text>User fired alert A</Text>
</Log>`;
    expect(parsed(xml)).toEqual(
      vmap({
        tag: 'Log',
        children: [
          vmap({
            tag: 'User',
            children: [
              vmap({ tag: 'ID', content: '00001' }),
              vmap({ tag: 'Name', content: 'Joe', attributes: vmap({ type: 'first' }) }),
              vmap({ tag: 'Email', content: 'joe.smith@example.com' }),
            ],
          }),
          vmap({ tag: 'Text', content: 'User fired alert A' }),
        ],
      }),
    );
    expect(parsed('<HostInfo hostname="example.com" zone="east-1" cloudprovider="aws" />')).toEqual(
      vmap({ tag: 'HostInfo', attributes: vmap({ hostname: 'example.com', zone: 'east-1', cloudprovider: 'aws' }) }),
    );
  });

  it('joins trimmed text and CDATA runs, decodes entities, drops comments, and names by local name', () => {
    const xml = `<e:Event xmlns:e="urn:x" e:id="7"><!-- note --> a &amp; b <b/> <![CDATA[ <raw> ]]> c&#33; </e:Event>`;
    expect(parsed(xml)).toEqual(vmap({ tag: 'Event', content: 'a & b<raw>c!', attributes: vmap({ e: 'urn:x', id: '7' }), children: [vmap({ tag: 'b' })] }));
  });

  it.each([
    ['<a><b></a>', /unexpected close tag/],
    ['<a/><b/>', /only one root/],
    ['<a>&nope;</a>', /undefined entity/],
    ['plain text', /not well-formed XML/],
    ['', /must contain a root element/],
  ])('refuses %j as error_mode propagate reports it', (xml, err) => {
    expect(() => parsed(xml)).toThrow(err);
  });

  it('refuses a target that is not a string', () => {
    expect(() => fromKeyValues(firstLog(runOnLog(['set(attributes["out"], ParseXML(attributes["n"]))'], { attributes: { n: 1n } })).attributes)).toThrow(
      /ParseXML: expected a string, got int/,
    );
  });
});

const simplified = (xml: string): Value =>
  fromKeyValues(firstLog(runOnLog(['set(attributes["out"], ParseSimplifiedXML(body))'], { body: xml })).attributes).get('out') ?? null;

describe('ParseSimplifiedXML (ottlfuncs README)', () => {
  it("builds the README's examples: values, maps, lists of one tag, CDATA", () => {
    const event = `<event>
    <id>1</id>
    <user>jane</user>
    <details>
      <time>2021-10-01T12:00:00Z</time>
      <description>Something happened</description>
      <cause>unknown</cause>
    </details>
</event>`;
    expect(simplified(event)).toEqual(
      vmap({
        event: vmap({
          id: '1',
          user: 'jane',
          details: vmap({ time: '2021-10-01T12:00:00Z', description: 'Something happened', cause: 'unknown' }),
        }),
      }),
    );
    expect(simplified('<x>\n  <y>1</y>\n  <z>2</z>\n</x>')).toEqual(vmap({ x: vmap({ y: '1', z: '2' }) }));
    expect(simplified('<a>\n  <b>1</b>\n  <b>2</b>\n</a>')).toEqual(vmap({ a: vmap({ b: ['1', '2'] }) }));
    expect(simplified('<a>\n  <b>1</b>\n  <b><![CDATA[2]]></b>\n</a>')).toEqual(vmap({ a: vmap({ b: ['1', '2'] }) }));
  });

  it('drops attributes, extraneous text and empty elements; an empty sibling still makes a list', () => {
    expect(simplified('<a k="v"> bar <b>1</b> <b/> <c/> </a>')).toEqual(vmap({ a: vmap({ b: ['1'] }) }));
    expect(simplified('<a><b><c/></b><d>x</d></a>')).toEqual(vmap({ a: vmap({ d: 'x' }) }));
    expect(simplified('<a/>')).toEqual(vmap({}));
    expect(() => simplified('<a><b></a>')).toThrow(/ParseSimplifiedXML: not well-formed XML/);
  });
});
