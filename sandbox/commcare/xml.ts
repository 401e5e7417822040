/**
 * A small, strict XML reader for XForm submissions, plus a writer for forwarding forms as XML.
 *
 * No XML library is installed, and submissions are untrusted: DOCTYPE declarations are refused
 * outright (so no DTD, external or entity expansion is ever evaluated) and only the five
 * predefined entities and numeric character references are decoded.
 */

export interface XmlElement {
  /** Local name without a prefix. */
  name: string;
  /** Namespace URI, '' when none. */
  ns: string;
  /** Attributes by local name; namespace declarations are left out. */
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element. */
  text: string;
}

export class XmlError extends Error {}

const MAX_DEPTH = 256;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(raw: string, at: number): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&\s]*);?/g, (match, name: string) => {
    if (!match.endsWith(';')) throw new XmlError(`unterminated entity reference near offset ${at}`);
    if (name.startsWith('#x') || name.startsWith('#X')) {
      const code = Number.parseInt(name.slice(2), 16);
      if (!Number.isFinite(code) || code > 0x10ffff) throw new XmlError(`bad character reference &${name};`);
      return String.fromCodePoint(code);
    }
    if (name.startsWith('#')) {
      const code = Number.parseInt(name.slice(1), 10);
      if (!Number.isFinite(code) || code > 0x10ffff) throw new XmlError(`bad character reference &${name};`);
      return String.fromCodePoint(code);
    }
    const value = PREDEFINED[name];
    if (value === undefined) throw new XmlError(`undefined entity &${name};`);
    return value;
  });
}

interface OpenElement {
  qname: string;
  element: XmlElement;
  scope: Map<string, string>;
}

const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;

/** Parses a document and returns its root element; throws XmlError on anything malformed. */
export function parseXml(source: string): XmlElement {
  let position = 0;
  let root: XmlElement | undefined;
  const stack: OpenElement[] = [];
  const length = source.length;
  if (source.charCodeAt(0) === 0xfeff) position = 1;

  while (position < length) {
    const lt = source.indexOf('<', position);
    const textEnd = lt < 0 ? length : lt;
    if (textEnd > position) {
      const text = source.slice(position, textEnd);
      if (stack.length > 0) stack[stack.length - 1].element.text += decodeEntities(text, position);
      else if (text.trim()) throw new XmlError(`text outside the root element at offset ${position}`);
    }
    if (lt < 0) break;
    position = lt;

    if (source.startsWith('<?', position)) {
      const end = source.indexOf('?>', position);
      if (end < 0) throw new XmlError('unterminated processing instruction');
      position = end + 2;
      continue;
    }
    if (source.startsWith('<!--', position)) {
      const end = source.indexOf('-->', position + 4);
      if (end < 0) throw new XmlError('unterminated comment');
      position = end + 3;
      continue;
    }
    if (source.startsWith('<![CDATA[', position)) {
      const end = source.indexOf(']]>', position);
      if (end < 0) throw new XmlError('unterminated CDATA section');
      if (stack.length === 0) throw new XmlError('CDATA outside the root element');
      stack[stack.length - 1].element.text += source.slice(position + 9, end);
      position = end + 3;
      continue;
    }
    if (source.startsWith('<!', position)) throw new XmlError('DOCTYPE and other declarations are not accepted');

    const close = findTagEnd(source, position);
    const inner = source.slice(position + 1, close);
    position = close + 1;

    if (inner.startsWith('/')) {
      const qname = inner.slice(1).trim();
      const open = stack.pop();
      if (!open) throw new XmlError(`unexpected closing tag </${qname}>`);
      if (open.qname !== qname) throw new XmlError(`mismatched tag: <${open.qname}> closed by </${qname}>`);
      continue;
    }

    const selfClosing = inner.endsWith('/');
    const { qname, attributes } = parseTag(selfClosing ? inner.slice(0, -1) : inner, position);
    if (root && stack.length === 0) throw new XmlError('more than one root element');
    if (stack.length >= MAX_DEPTH) throw new XmlError('document nested too deeply');

    const parentScope = stack.length > 0 ? stack[stack.length - 1].scope : new Map<string, string>();
    let scope = parentScope;
    const plainAttributes: Array<[string, string]> = [];
    for (const [attrName, value] of attributes) {
      if (attrName === 'xmlns' || attrName.startsWith('xmlns:')) {
        if (scope === parentScope) scope = new Map(parentScope);
        scope.set(attrName === 'xmlns' ? '' : attrName.slice(6), value);
      } else {
        plainAttributes.push([attrName, value]);
      }
    }
    const [prefix, local] = splitName(qname);
    const ns = scope.get(prefix) ?? '';
    if (prefix && !scope.has(prefix)) throw new XmlError(`undeclared namespace prefix "${prefix}"`);
    const element: XmlElement = { name: local, ns, attributes: {}, children: [], text: '' };
    for (const [attrName, value] of plainAttributes) element.attributes[splitName(attrName)[1]] = value;

    if (stack.length > 0) stack[stack.length - 1].element.children.push(element);
    else root = element;
    if (!selfClosing) stack.push({ qname, element, scope });
  }

  if (stack.length > 0) throw new XmlError(`unclosed element <${stack[stack.length - 1].qname}>`);
  if (!root) throw new XmlError('no root element');
  return root;
}

function findTagEnd(source: string, start: number): number {
  let quote = '';
  for (let i = start + 1; i < source.length; i += 1) {
    const char = source[i];
    if (quote) {
      if (char === quote) quote = '';
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '<') {
      throw new XmlError(`unexpected "<" inside a tag at offset ${i}`);
    } else if (char === '>') {
      return i;
    }
  }
  throw new XmlError('unterminated tag');
}

function parseTag(inner: string, at: number): { qname: string; attributes: Array<[string, string]> } {
  const nameMatch = /^\s*([^\s/>]+)/.exec(inner);
  if (!nameMatch || !NAME.test(nameMatch[1])) throw new XmlError(`bad element name near offset ${at}`);
  const attributes: Array<[string, string]> = [];
  const seen = new Set<string>();
  let rest = inner.slice(nameMatch[0].length);
  const attribute = /^\s+([^\s=]+)\s*=\s*("([^"]*)"|'([^']*)')/;
  for (;;) {
    if (!rest.trim()) break;
    const match = attribute.exec(rest);
    if (!match || !NAME.test(match[1])) throw new XmlError(`malformed attribute near offset ${at}`);
    if (seen.has(match[1])) throw new XmlError(`duplicate attribute ${match[1]}`);
    seen.add(match[1]);
    attributes.push([match[1], decodeEntities(match[3] ?? match[4] ?? '', at)]);
    rest = rest.slice(match[0].length);
  }
  return { qname: nameMatch[1], attributes };
}

function splitName(qname: string): [string, string] {
  const colon = qname.indexOf(':');
  return colon < 0 ? ['', qname] : [qname.slice(0, colon), qname.slice(colon + 1)];
}

const ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' };

/** Escapes character data, or an attribute value written in double quotes. */
export function escapeXml(value: string): string {
  return value.replace(/[<>&"]/g, (char) => ESCAPES[char]);
}
