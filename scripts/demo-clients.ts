/**
 * Points the sandboxes that act as clients (CommCare data forwarding, CHT outbound push,
 * RapidPro webhooks) at the demo flows' receivers, so the demo runs end to end on its own.
 * Each entry is added together with the example flow that owns the receiving endpoint.
 */
import type { RunningSandbox } from '../sandbox';
import { PREGNANCY_REMINDERS_FLOW_UUID } from '../sandbox/rapidpro/seed';

export interface DemoClient {
  system: string;
  config: Record<string, unknown>;
}

const DEMO_SENDER = { type: 'basic', username: 'demo', password: 'demo-secret' };
const FORM = (name: string): string => `http://openrosa.org/formdesigner/chis-demo-${name}`;

export function demoClients(nodeRedUrl: string): DemoClient[] {
  return [
    // CommCare data forwarding: one repeater per workflow, each filtered by form xmlns, as in HQ.
    {
      system: 'commcare',
      config: { name: 'form-forwarding:followup', url: `${nodeRedUrl}/commcare/forms`, auth: DEMO_SENDER, format: 'json', xmlns: [FORM('followup')] },
    },
    {
      system: 'commcare',
      config: { name: 'form-forwarding:referral', url: `${nodeRedUrl}/commcare/referrals`, auth: DEMO_SENDER, format: 'json', xmlns: [FORM('referral')] },
    },
    {
      system: 'commcare',
      config: { name: 'form-forwarding:tracker', url: `${nodeRedUrl}/commcare/tracker`, auth: DEMO_SENDER, format: 'json', xmlns: [FORM('tracker-registration'), FORM('tracker-visit')] },
    },
    {
      system: 'commcare',
      config: { name: 'form-forwarding:fhir-referral', url: `${nodeRedUrl}/fhir/referrals`, auth: DEMO_SENDER, format: 'json', xmlns: [FORM('referral')] },
    },
    {
      system: 'commcare',
      config: { name: 'form-forwarding:monthly', url: `${nodeRedUrl}/commcare/monthly`, auth: DEMO_SENDER, format: 'json', xmlns: [FORM('followup')] },
    },
    // CHT outbound push (flows/cht-to-emr.json): patients and REF/home_visit reports.
    {
      system: 'cht',
      config: {
        name: 'outbound',
        url: nodeRedUrl,
        auth: DEMO_SENDER,
        pushes: {
          'emr-patient': {
            relevant_to: "doc.type === 'person' && doc.role === 'patient'",
            destination: { path: '/cht/outbound' },
            mapping: {
              kind: { expr: "'patient'" }, id: 'doc._id', name: 'doc.name', sex: { path: 'doc.sex', optional: true },
              date_of_birth: { path: 'doc.date_of_birth', optional: true }, phone: { path: 'doc.phone', optional: true }, patient_id: { path: 'doc.patient_id', optional: true },
            },
          },
          'emr-visit': {
            relevant_to: "doc.type === 'data_record' && (doc.form === 'REF' || doc.form === 'home_visit')",
            destination: { path: '/cht/outbound' },
            mapping: {
              kind: { expr: "'visit'" }, id: 'doc._id', form: 'doc.form', patient_uuid: { path: 'doc.fields.patient_uuid', optional: true },
              patient_id: { path: 'doc.fields.patient_id', optional: true }, reported_date: 'doc.reported_date', fields: 'doc.fields',
            },
          },
        },
      },
    },
    // RapidPro's "call webhook" (flows/cht-rapidpro-bidirectional.json): completed runs of the flow
    // that has the webhook action. The flow's runs source polls "Follow-up survey" instead, so each
    // run reaches CHT by one path only.
    {
      system: 'rapidpro',
      config: {
        name: 'webhook',
        url: `${nodeRedUrl}/rapidpro/results`,
        shape: 'resthook',
        flow: PREGNANCY_REMINDERS_FLOW_UUID,
        auth: { type: 'header', name: 'X-Demo-Token', value: 'demo-secret' },
      },
    },
  ];
}

export async function configureDemoClients(sandboxes: RunningSandbox[], nodeRedUrl: string): Promise<void> {
  for (const client of demoClients(nodeRedUrl)) {
    const sandbox = sandboxes.find((candidate) => candidate.name === client.system);
    if (!sandbox) continue;
    const response = await fetch(`${sandbox.url}/_sandbox/clients`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(client.config),
    });
    if (!response.ok) throw new Error(`configuring ${client.system} client failed: ${response.status}`);
  }
}
