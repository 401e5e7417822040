/**
 * Data forwarding (HQ "repeaters"): every processed form goes to the "form-forwarding" client
 * and every changed case to the "case-forwarding" client. HQ retries a payload 3 times when the
 * endpoint answers with a 4xx and backs off over 6 attempts for 5xx, timeouts and refused
 * connections; the waits (1 hour up to 7 days on HQ) are compressed to `backoffMs` × 2^n.
 */
import { sendOnce, type ClientConfig, authHeaders } from '../core';
import { formBlockToXml } from './form-json';
import { escapeXml } from './xml';
import { CASE_XMLNS, forwardedCaseJson, type CaseRecord, type FormRecord } from './store';

/** HQ's MAX_ATTEMPTS: an endpoint that answers, but with a client error. */
const MAX_ATTEMPTS = 3;
/** HQ's MAX_BACKOFF_ATTEMPTS: an endpoint that is down or failing. */
const MAX_BACKOFF_ATTEMPTS = 6;
const DEFAULT_BACKOFF_MS = 200;

export interface DeliveryRecord {
  target: string;
  payload_id: string;
  attempt: number;
  status: number;
  time: string;
  url: string;
  error?: string;
}

export class Forwarder {
  deliveries: DeliveryRecord[] = [];
  private generation = 0;

  constructor(private readonly clients: Map<string, ClientConfig>) {}

  /** Forgets recorded attempts and abandons retries still waiting. */
  reset(): void {
    this.generation += 1;
    this.deliveries = [];
  }

  /**
   * HQ projects can have several form repeaters, each with its own URL and xmlns filter: every
   * client named "form-forwarding" or "form-forwarding:<anything>" is one of them.
   */
  forwardForm(form: FormRecord): void {
    for (const [name, config] of this.clients) {
      if (name !== 'form-forwarding' && !name.startsWith('form-forwarding:')) continue;
      if (!config.url) continue;
      const xmlnsFilter = Array.isArray(config.xmlns) ? (config.xmlns as string[]) : undefined;
      if (xmlnsFilter && !xmlnsFilter.includes(form.xmlns)) continue;
      const asXml = config.format === 'xml';
      const body = asXml ? form.xml ?? formBlockToXml(form.json.form as Record<string, unknown>) : JSON.stringify(form.json);
      void this.send(name, config, form.id, body, asXml ? 'text/xml' : 'application/json', { 'Received-On': form.receivedOn });
    }
  }

  forwardCases(cases: CaseRecord[]): void {
    const config = this.clients.get('case-forwarding');
    if (!config?.url) return;
    const caseTypes = Array.isArray(config.caseTypes) ? (config.caseTypes as string[]) : undefined;
    for (const record of cases) {
      if (caseTypes && !caseTypes.includes(record.case_type)) continue;
      const asXml = config.format === 'xml';
      const body = asXml ? caseXml(record) : JSON.stringify(forwardedCaseJson(record));
      void this.send('case-forwarding', config, record.case_id, body, asXml ? 'text/xml' : 'application/json', { 'Server-Modified-On': record.server_last_modified });
    }
  }

  private async send(target: string, config: ClientConfig, payloadId: string, body: string, contentType: string, headers: Record<string, string>): Promise<void> {
    const generation = this.generation;
    const backoffMs = typeof config.backoffMs === 'number' ? config.backoffMs : DEFAULT_BACKOFF_MS;
    const timeoutMs = typeof config.timeoutMs === 'number' ? config.timeoutMs : 10_000;
    for (let attempt = 1; ; attempt += 1) {
      const result = await sendOnce(String(config.url), body, { contentType, timeoutMs, headers }, authHeaders(config));
      if (generation !== this.generation) return;
      const record: DeliveryRecord = { target, payload_id: payloadId, attempt, status: result.status, time: result.time, url: result.url };
      if (result.error) record.error = result.error;
      this.deliveries.push(record);
      if (result.status >= 200 && result.status < 300) return;
      const clientError = result.status >= 400 && result.status < 500;
      if (attempt >= (clientError ? MAX_ATTEMPTS : MAX_BACKOFF_ATTEMPTS)) return;
      await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)).unref());
      if (generation !== this.generation) return;
    }
  }
}

/** The case block HQ forwards in XML format; a closed case is sent with just a close block. */
function caseXml(record: CaseRecord): string {
  const open = `<case case_id="${escapeXml(record.case_id)}" date_modified="${escapeXml(record.last_modified)}" user_id="${escapeXml(record.user_id)}" xmlns="${CASE_XMLNS}">`;
  if (record.closed) return `${open}<close/></case>`;
  const leaf = (name: string, value: string | null): string => `<${name}>${escapeXml(value ?? '')}</${name}>`;
  const create = `<create>${leaf('case_type', record.case_type)}${leaf('case_name', record.case_name)}${leaf('owner_id', record.owner_id)}</create>`;
  const updates = Object.entries(record.properties).map(([key, value]) => leaf(key, value)).join('');
  const update = `<update>${record.external_id ? leaf('external_id', record.external_id) : ''}${updates}</update>`;
  const indices = Object.entries(record.indices)
    .map(([name, index]) => `<${name} case_type="${escapeXml(index.case_type)}" relationship="${escapeXml(index.relationship)}">${escapeXml(index.case_id)}</${name}>`)
    .join('');
  return `${open}${create}${update}${indices ? `<index>${indices}</index>` : ''}</case>`;
}
