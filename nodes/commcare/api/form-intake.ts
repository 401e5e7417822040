/**
 * What the form receiver decides about one forwarded form, as pure functions: read it (form
 * JSON, or XForm XML in the same shape), then accept, ignore (other xmlns or app, our own
 * write) or refuse it (no xmlns or form id: it can never be processed).
 */
import { type FormJson, caseIds, formAppId, formBlock, formId, formJsonFromXml, formReceivedOn, formXmlns } from './forms';
import { isOwnWriteForm } from './loop-marker';

export interface ForwardedRequest {
  format: 'json' | 'xml' | 'form';
  body: unknown;
  /** HQ adds `app_id` when the forwarder is set to include it. */
  query?: Record<string, string>;
  /** Lower-case names; HQ sends `received-on` with XML forwards. */
  headers?: Record<string, string>;
}

export interface FormFilters {
  /** Accepted xmlns values; empty accepts every form. */
  xmlns?: string[];
  /** Accepted application id; empty accepts every app. */
  appId?: string;
  /** Ignore the forms this package's own case writes generated (default true). */
  ignoreOwnWrites?: boolean;
}

/** The facts about a form a flow routes on (msg.form). */
export interface FormFacts {
  id: string;
  xmlns: string;
  appId: string | null;
  caseIds: string[];
  receivedOn: string | null;
}

export type FormVerdict =
  | { kind: 'accept'; payload: FormJson; facts: FormFacts }
  | { kind: 'ignore'; reason: 'own-write' | 'xmlns' | 'app'; id?: string; message: string }
  | { kind: 'invalid'; message: string };

/** The forwarded form as form JSON, whatever format it came in. */
export function readForwardedForm(request: ForwardedRequest): FormJson | undefined {
  if (request.format === 'xml') {
    return formJsonFromXml(request.body, { appId: request.query?.app_id || undefined, receivedOn: request.headers?.['received-on'] || undefined });
  }
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  // A bare form block (no envelope) is wrapped so that downstream always sees `form`.
  const json = formBlock(body) === body ? { form: body } : (body as FormJson);
  if (!json.app_id && request.query?.app_id) return { ...json, app_id: request.query.app_id };
  return json;
}

/** Splits a list typed in the editor (one per line, or comma separated) into values. */
export function splitList(value: string | string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : String(value ?? '').split(/[\n,]/);
  return items.map((item) => String(item).trim()).filter(Boolean);
}

export function judgeForm(request: ForwardedRequest, filters: FormFilters): FormVerdict {
  const json = readForwardedForm(request);
  if (!json || !formBlock(json)) return { kind: 'invalid', message: 'not a CommCare form: no "form" block' };
  const xmlns = formXmlns(json);
  if (!xmlns) return { kind: 'invalid', message: 'the form has no xmlns' };
  const id = formId(json);
  if (!id) return { kind: 'invalid', message: 'the form has no id (id or meta.instanceID)' };
  if (filters.ignoreOwnWrites !== false && isOwnWriteForm(json)) {
    return { kind: 'ignore', reason: 'own-write', id, message: 'written by this integration (loop prevention)' };
  }
  const wanted = filters.xmlns ?? [];
  if (wanted.length > 0 && !wanted.includes(xmlns)) return { kind: 'ignore', reason: 'xmlns', id, message: `form ${xmlns} is not one this receiver handles` };
  const appId = formAppId(json) ?? null;
  if (filters.appId && appId !== filters.appId) return { kind: 'ignore', reason: 'app', id, message: `form of application ${appId ?? '(none)'} is not one this receiver handles` };
  return { kind: 'accept', payload: json, facts: { id, xmlns, appId, caseIds: caseIds(json), receivedOn: formReceivedOn(json) ?? null } };
}
