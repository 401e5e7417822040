/**
 * Reading CommCare form JSON (the Form API and form_json data forwarding shape): `form` holds
 * the submission with `@attribute` and `#text` keys, `#type` for the root element, `case`
 * blocks (anywhere, also inside groups and repeats) and `meta`. XForm XML parsed by the shared
 * receiver is turned into the same shape by `formJsonFromXml`.
 */

export type FormJson = Record<string, unknown>;

export const CASE_XMLNS = 'http://commcarehq.org/case/transaction/v2';

const isObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

/** Text of a leaf, also when it carries attributes ({"#text": …}) or repeats (last one wins, as in XPath). */
export function textOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.length ? textOf(value[value.length - 1]) : '';
  if (isObject(value)) return textOf(value['#text']);
  return String(value);
}

/** The `form` block of form JSON, or the value itself when it already is a form block. */
export function formBlock(formJson: unknown): FormJson | undefined {
  if (!isObject(formJson)) return undefined;
  if (isObject(formJson.form)) return formJson.form;
  return typeof formJson['@xmlns'] === 'string' ? formJson : undefined;
}

export function formXmlns(formJson: unknown): string | undefined {
  const xmlns = formBlock(formJson)?.['@xmlns'];
  return typeof xmlns === 'string' && xmlns ? xmlns : undefined;
}

/** The form id: `id`, else `form.meta.instanceID` (HQ uses the instanceID as the form id). */
export function formId(formJson: unknown): string | undefined {
  const top = isObject(formJson) && typeof formJson.id === 'string' && formJson.id ? formJson.id : undefined;
  const meta = formBlock(formJson)?.meta;
  const instanceId = textOf(isObject(meta) ? meta.instanceID : undefined).trim();
  return top ?? (instanceId || undefined);
}

export function formAppId(formJson: unknown): string | undefined {
  return isObject(formJson) && typeof formJson.app_id === 'string' && formJson.app_id ? formJson.app_id : undefined;
}

export function formReceivedOn(formJson: unknown): string | undefined {
  return isObject(formJson) && typeof formJson.received_on === 'string' && formJson.received_on ? formJson.received_on : undefined;
}

export interface CaseBlockIndex {
  caseId: string;
  caseType: string;
  relationship: string;
}

/** One case block, with its values as text. */
export interface CaseBlock {
  caseId: string;
  userId?: string;
  dateModified?: string;
  create?: { case_type?: string; case_name?: string; owner_id?: string };
  update: Record<string, string>;
  index: Record<string, CaseBlockIndex>;
  close: boolean;
}

function leaves(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  const result: Record<string, string> = {};
  for (const [key, child] of Object.entries(value)) if (!key.startsWith('@') && !key.startsWith('#')) result[key] = textOf(child);
  return result;
}

function toCaseBlock(raw: Record<string, unknown>): CaseBlock {
  const index: Record<string, CaseBlockIndex> = {};
  if (isObject(raw.index)) {
    for (const [name, value] of Object.entries(raw.index)) {
      if (name.startsWith('@') || name.startsWith('#')) continue;
      const attributes = isObject(value) ? value : {};
      index[name] = { caseId: textOf(value), caseType: textOf(attributes['@case_type']), relationship: textOf(attributes['@relationship']) || 'child' };
    }
  }
  const attribute = (name: string): string | undefined => textOf(raw[name]) || undefined;
  return {
    caseId: textOf(raw['@case_id']).trim(),
    userId: attribute('@user_id'),
    dateModified: attribute('@date_modified'),
    create: 'create' in raw ? leaves(raw.create) : undefined,
    update: leaves(raw.update),
    index,
    close: 'close' in raw,
  };
}

function collectCaseBlocks(value: unknown, found: CaseBlock[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectCaseBlocks(item, found);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('@') || key.startsWith('#')) continue;
    if (key === 'case') {
      for (const block of Array.isArray(child) ? child : [child]) {
        if (isObject(block) && ('@case_id' in block || block['@xmlns'] === CASE_XMLNS)) found.push(toCaseBlock(block));
      }
    } else {
      collectCaseBlocks(child, found);
    }
  }
}

/** Every case block of the form, in document order (top level, groups and repeats). */
export function caseBlocks(formJson: unknown): CaseBlock[] {
  const found: CaseBlock[] = [];
  collectCaseBlocks(formBlock(formJson), found);
  return found;
}

export function caseIds(formJson: unknown): string[] {
  return [...new Set(caseBlocks(formJson).map((block) => block.caseId).filter(Boolean))];
}

/**
 * The raw value at a question path: "/data/group/question", "group/question" or
 * "group.question". A repeat group gives an array.
 */
export function questionValue(formJson: unknown, path: string): unknown {
  const form = formBlock(formJson);
  if (!form) return undefined;
  let parts = path.trim().replace(/^\/+/, '').split(/[/.]/).filter(Boolean);
  // "/data/..." names the root element, which form JSON keeps as "#type".
  if (parts.length > 1 && parts[0] === textOf(form['#type'])) parts = parts.slice(1);
  let current: unknown = form;
  for (const part of parts) {
    if (Array.isArray(current)) current = current.map((item) => (isObject(item) ? item[part] : undefined));
    else if (isObject(current)) current = current[part];
    else return undefined;
  }
  return current;
}

/** A question's answer as text; '' when unanswered or absent. */
export function questionText(formJson: unknown, path: string): string {
  return textOf(questionValue(formJson, path)).trim();
}

/** A numeric answer, or undefined when unanswered or not a number. */
export function questionNumber(formJson: unknown, path: string): number | undefined {
  const text = questionText(formJson, path);
  const number = text ? Number(text) : Number.NaN;
  return Number.isFinite(number) ? number : undefined;
}

/** A multiple-choice answer: CommCare stores the chosen values separated by spaces. */
export function questionChoices(formJson: unknown, path: string): string[] {
  return questionText(formJson, path).split(/\s+/).filter(Boolean);
}

/** A yes/no style answer: true for yes/true/1, false for no/false/0, else undefined. */
export function questionBoolean(formJson: unknown, path: string): boolean | undefined {
  const text = questionText(formJson, path).toLowerCase();
  if (['yes', 'true', '1', 'y'].includes(text)) return true;
  if (['no', 'false', '0', 'n'].includes(text)) return false;
  return undefined;
}

// ---- XForm XML (as parsed by the shared receiver: "prefix:name" keys, "@xmlns:prefix" attributes) ----

const localName = (qualified: string): string => qualified.slice(qualified.indexOf(':') + 1);
const prefixOf = (qualified: string): string => (qualified.includes(':') ? qualified.slice(0, qualified.indexOf(':')) : '');

function declaredNamespaces(element: Record<string, unknown>, scope: Map<string, string>): Map<string, string> {
  let next = scope;
  for (const [key, value] of Object.entries(element)) {
    if (key === '@xmlns' || key.startsWith('@xmlns:')) {
      if (next === scope) next = new Map(scope);
      next.set(key === '@xmlns' ? '' : key.slice('@xmlns:'.length), String(value));
    }
  }
  return next;
}

function convertElement(qualified: string, value: unknown, parentNs: string, scope: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => convertElement(qualified, item, parentNs, scope));
  if (!isObject(value)) {
    const ns = scope.get(prefixOf(qualified)) ?? '';
    return ns && ns !== parentNs ? { '@xmlns': ns, '#text': value ?? '' } : (value ?? '');
  }
  const inner = declaredNamespaces(value, scope);
  const ns = inner.get(prefixOf(qualified)) ?? '';
  const result: Record<string, unknown> = {};
  if (ns && ns !== parentNs) result['@xmlns'] = ns;
  for (const [key, child] of Object.entries(value)) {
    if (key === '@xmlns' || key.startsWith('@xmlns:')) continue;
    if (key.startsWith('@')) result[`@${localName(key.slice(1))}`] = child;
    else if (key === '#text') result['#text'] = child;
    else result[localName(key)] = convertElement(key, child, ns, inner);
  }
  return result;
}

/**
 * Form JSON from an XForm as parsed by the shared receiver: namespace prefixes removed, an
 * element in a new namespace marked with "@xmlns", the root element's name as "#type". Returns
 * the forwarded-form shape `{id, form, app_id, received_on}` so XML and JSON look alike downstream.
 */
export function formJsonFromXml(parsed: unknown, extra: { appId?: string; receivedOn?: string } = {}): FormJson | undefined {
  if (!isObject(parsed)) return undefined;
  const rootKey = Object.keys(parsed).find((key) => !key.startsWith('?') && !key.startsWith('#') && !key.startsWith('@'));
  if (!rootKey || !isObject(parsed[rootKey])) return undefined;
  const converted = convertElement(rootKey, parsed[rootKey], '', new Map()) as Record<string, unknown>;
  const form: FormJson = { '#type': localName(rootKey), ...converted };
  const wrapped: FormJson = { form };
  return { id: formId(wrapped) ?? null, form, app_id: extra.appId ?? null, received_on: extra.receivedOn ?? null };
}
