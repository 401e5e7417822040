/**
 * Conversion between XForm XML and HQ's form JSON (the shape of the Form API and of form_json
 * data forwarding): attributes become "@name" keys, an element in a new namespace carries
 * "@xmlns", text next to attributes is "#text", repeated elements become arrays and the root
 * element's name is "#type".
 */
import { escapeXml, type XmlElement } from './xml';

export type FormJson = Record<string, unknown>;

export function elementToJson(element: XmlElement, parentNs: string | undefined): unknown {
  const object: Record<string, unknown> = {};
  if (element.ns !== parentNs && element.ns) object['@xmlns'] = element.ns;
  for (const [name, value] of Object.entries(element.attributes)) object[`@${name}`] = value;

  if (element.children.length === 0) {
    if (Object.keys(object).length === 0) return element.text;
    if (element.text) object['#text'] = element.text;
    return object;
  }
  for (const child of element.children) {
    const value = elementToJson(child, element.ns);
    // elementToJson never returns an array, so an array here always means a repeated element
    const existing = object[child.name];
    if (existing === undefined) object[child.name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else object[child.name] = [existing, value];
  }
  return object;
}

/** The form block of a submission, as HQ stores it under "form". */
export function xmlToFormBlock(root: XmlElement): FormJson {
  const block = elementToJson(root, undefined);
  const object = (typeof block === 'object' && block !== null ? block : { '#text': block }) as FormJson;
  return { '#type': root.name, ...object };
}

/** Writes a form block back as XForm XML (used to forward injected forms in XML format). */
export function formBlockToXml(form: FormJson): string {
  const type = typeof form['#type'] === 'string' ? form['#type'] : 'data';
  return `<?xml version='1.0' ?>\n${elementXml(type, form)}\n`;
}

function elementXml(name: string, value: unknown): string {
  if (value === null || value === undefined) return `<${name}/>`;
  if (typeof value !== 'object') return `<${name}>${escapeXml(String(value))}</${name}>`;
  if (Array.isArray(value)) return value.map((item) => elementXml(name, item)).join('');
  let attributes = '';
  let children = '';
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === '#type') continue;
    if (key === '#text') children += escapeXml(String(child));
    else if (key.startsWith('@')) attributes += ` ${key.slice(1)}="${escapeXml(String(child))}"`;
    else children += elementXml(key, child);
  }
  return children ? `<${name}${attributes}>${children}</${name}>` : `<${name}${attributes}/>`;
}

/** Text of a leaf that may have been written with attributes ({"#text": ...}). */
export function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object' && !Array.isArray(value)) return textOf((value as Record<string, unknown>)['#text']);
  if (Array.isArray(value)) return textOf(value[value.length - 1]);
  return String(value);
}
