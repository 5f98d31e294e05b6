// Safe XML parsing for callbacks (S1, issue 6 item 2): a size limit, no DOCTYPE / ENTITY / other markup
// declarations at all (so no entity expansion, no XML bombs, no external entities), a nesting limit,
// and only the five predefined entities plus numeric character references decoded, once, outside CDATA.
// Values stay strings (MsgId does not fit a double).

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CRYPTO_ERRORS, WecomCallbackError } from './errors.ts';

export const DEFAULT_MAX_XML_BYTES = 64 * 1024;
const MAX_NESTING = 16;

/** Parsed XML: an element is a string (text / CDATA), an object (children) or an array (repeated tags). */
export type XmlNode = string | XmlObject | XmlNode[];
export interface XmlObject {
  [tag: string]: XmlNode;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  trimValues: true,
  maxNestedTags: MAX_NESTING,
});

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined entities and numeric references in one pass; anything else is left as is. */
export function decodeXmlText(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED[ref] ?? whole;
    const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
}

function normalise(node: unknown): XmlNode {
  if (typeof node === 'string') return decodeXmlText(node);
  if (typeof node === 'number' || typeof node === 'boolean') return String(node);
  if (Array.isArray(node)) return node.map(normalise);
  if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    const keys = Object.keys(obj);
    // <A><![CDATA[x]]></A> → "x"; text mixed with CDATA → concatenated
    if (keys.length > 0 && keys.every((k) => k === '#cdata' || k === '#text')) {
      const text = obj['#text'] === undefined ? '' : decodeXmlText(String(obj['#text']));
      const cdata = obj['#cdata'];
      return text + (Array.isArray(cdata) ? cdata.join('') : String(cdata ?? ''));
    }
    const out: XmlObject = {};
    for (const k of keys) out[k] = normalise(obj[k]);
    return out;
  }
  return '';
}

/** Parses untrusted XML or throws WecomCallbackError (400 bad_xml / xml_forbidden, 413 body_too_large). */
export function parseXmlSafely(xml: string, maxBytes = DEFAULT_MAX_XML_BYTES): XmlObject {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) {
    throw new WecomCallbackError('body_too_large', CRYPTO_ERRORS.ParseXmlError, 413, `XML larger than ${maxBytes} bytes`);
  }
  // Any markup declaration other than CDATA and comments (DOCTYPE, ENTITY, ELEMENT, ATTLIST …) is refused.
  if (/<!(?!\[CDATA\[|--)/.test(xml)) {
    throw new WecomCallbackError('xml_forbidden', CRYPTO_ERRORS.ParseXmlError, 400, 'XML with DOCTYPE or declarations refused');
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new WecomCallbackError('bad_xml', CRYPTO_ERRORS.ParseXmlError, 400, `malformed XML: ${valid.err.msg}`);
  let parsed: unknown;
  try {
    parsed = parser.parse(xml);
  } catch (err) {
    throw new WecomCallbackError('bad_xml', CRYPTO_ERRORS.ParseXmlError, 400, `malformed XML: ${(err as Error).message}`);
  }
  const root = normalise(parsed);
  if (typeof root !== 'object' || Array.isArray(root)) throw new WecomCallbackError('bad_xml', CRYPTO_ERRORS.ParseXmlError, 400, 'XML has no root element');
  return root;
}

/** The text of a child element (first one if repeated), or undefined. */
export function xmlText(obj: XmlObject | undefined, tag: string): string | undefined {
  if (!obj) return undefined;
  let v = obj[tag];
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' ? v : undefined;
}

/** Child elements as a list (a single element becomes a one-item list). */
export function xmlList(node: XmlNode | undefined): XmlNode[] {
  if (node === undefined) return [];
  return Array.isArray(node) ? node : [node];
}

/** Escape text for an XML CDATA section (splits "]]>"). */
export function cdata(text: string): string {
  return `<![CDATA[${text.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}
