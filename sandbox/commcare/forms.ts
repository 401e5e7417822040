/**
 * Form processing shared by the receiver, the Case API and the injection control route: builds
 * HQ's form JSON, detects duplicates and edits by instanceID, applies case blocks and hands the
 * results to data forwarding.
 */
import { randomUUID } from 'node:crypto';
import { textOf, type FormJson } from './form-json';
import type { Forwarder } from './forwarding';
import * as seed from './seed';
import { CaseProcessingError, hqTimestamp, monotonicNow, sha256, type CaseRecord, type CommcareStore, type FormRecord } from './store';

export interface SubmissionInput {
  /** The "form" block: root element as form JSON with "#type", "@xmlns" and "meta". */
  form: FormJson;
  /** Raw XML when the form came in as XML (forwarded as is in XML format). */
  xml?: string;
  appId?: string | null;
  buildId?: string | null;
  /** Overrides for injected forms. */
  id?: string;
  receivedOn?: string;
}

export type SubmissionResult =
  | { kind: 'processed'; form: FormRecord; cases: CaseRecord[] }
  | { kind: 'duplicate'; formId: string; message: string }
  | { kind: 'error'; formId: string; message: string };

export class FormProcessor {
  constructor(private readonly store: CommcareStore, private readonly forwarder: Forwarder) {}

  submit(input: SubmissionInput): SubmissionResult {
    const meta = objectOf(input.form.meta);
    const instanceId = textOf(meta.instanceID).trim();
    const formId = input.id ?? (instanceId || randomUUID());
    const bodyHash = sha256(input.xml ?? JSON.stringify(input.form));
    const existing = this.store.forms.get(formId);
    if (existing && existing.bodyHash === bodyHash) {
      // HQ saves the copy as an XFormDuplicate and does not process its case blocks again
      return { kind: 'duplicate', formId, message: `Form is a duplicate of another! (${formId})` };
    }

    const now = monotonicNow();
    let changedIds: string[];
    try {
      changedIds = this.store.applyCaseBlocks(formId, input.form, now);
    } catch (error) {
      if (error instanceof CaseProcessingError) return { kind: 'error', formId, message: error.message };
      throw error;
    }

    const receivedOn = input.receivedOn ?? hqTimestamp(now);
    const appId = input.appId ?? null;
    const buildId = input.buildId ?? (appId === seed.APP_ID ? seed.APP_BUILD_ID : null);
    const json = formJson(formId, input.form, receivedOn, appId, buildId, existing?.id);
    const record: FormRecord = {
      id: formId,
      json,
      xml: input.xml,
      bodyHash,
      receivedOn,
      xmlns: textOf(input.form['@xmlns']),
      appId,
    };
    this.store.saveForm(record);
    const cases = changedIds.map((id) => this.store.cases.get(id)).filter((c): c is CaseRecord => !!c);
    this.forwarder.forwardForm(record);
    this.forwarder.forwardCases(cases);
    return { kind: 'processed', form: record, cases };
  }
}

function objectOf(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** "2017-05-25T21:06:17.739000" — metadata times are naive UTC in HQ's form JSON. */
function naiveTime(value: unknown): string | null {
  const text = textOf(value);
  if (!text) return null;
  const date = new Date(text.replace(/([+-]\d{2})$/, '$1:00'));
  return Number.isNaN(date.getTime()) ? text : hqTimestamp(date).replace(/Z$/, '');
}

function formJson(id: string, form: FormJson, receivedOn: string, appId: string | null, buildId: string | null, deprecatedId: string | undefined): FormJson {
  const meta = objectOf(form.meta);
  // HQ's scrub_meta flattens appVersion written with its own namespace to plain text
  if (meta.appVersion !== undefined && typeof meta.appVersion === 'object') meta.appVersion = textOf(meta.appVersion);
  const metaValue = (key: string): unknown => (meta[key] === undefined || meta[key] === '' ? null : meta[key]);
  // HQ reads the build number out of an appVersion like "... App v10. ..." when the phone does not send it
  const appBuild = /App v(\d+)/.exec(textOf(meta.appVersion))?.[1];
  const buildVersion = metaValue('app_build_version') ?? (appBuild ? Number(appBuild) : null);
  return {
    app_id: appId,
    archived: false,
    attachments: {},
    build_id: buildId,
    domain: seed.DOMAIN,
    form,
    id,
    initial_processing_complete: true,
    // as in HQ's own form JSON fixtures
    is_phone_submission: {},
    metadata: {
      appVersion: metaValue('appVersion'),
      app_build_version: buildVersion,
      commcare_version: metaValue('commcare_version'),
      deprecatedID: deprecatedId ?? null,
      deviceID: metaValue('deviceID'),
      doc_type: 'Metadata',
      geo_point: metaValue('geo_point'),
      instanceID: metaValue('instanceID') ?? id,
      location: metaValue('location'),
      timeEnd: naiveTime(meta.timeEnd),
      timeStart: naiveTime(meta.timeStart),
      userID: metaValue('userID'),
      username: metaValue('username'),
    },
    problem: null,
    received_on: receivedOn,
    resource_uri: '',
    type: textOf(form['#type']) || 'data',
    uiversion: textOf(form['@uiVersion']) || '1',
    version: textOf(form['@version']) || '1',
  };
}
