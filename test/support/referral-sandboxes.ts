/**
 * The OpenMRS and CommCare sandbox calls the referral tests (node and flow) assert through:
 * patients by identifier, encounters by uuid, case properties, faults and request logs.
 */
import { randomUUID } from 'node:crypto';
import { IDENTIFIER_TYPES, PASSWORD, USERNAME } from '../../sandbox/openmrs/seed';
import * as commcareSeed from '../../sandbox/commcare/seed';

const OPENMRS_AUTH = { Authorization: `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}` };
const COMMCARE_AUTH = { Authorization: `ApiKey ${commcareSeed.WEB_USER.username}:${commcareSeed.WEB_USER.apiKey}` };
const JSON_HEADERS = { 'Content-Type': 'application/json' };

export interface LoggedRequest { method: string; path: string; query: string; status: number }

export class ReferralSandboxes {
  /** Roots of the running sandboxes, e.g. http://127.0.0.1:4711 (OpenMRS without /openmrs). */
  constructor(readonly openmrs: string, readonly commcare: string) {}

  private async openmrsGet(path: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.openmrs}/openmrs/ws/rest/v1/${path}`, { headers: OPENMRS_AUTH });
    return { status: response.status, body: response.status === 204 ? undefined : await response.json() };
  }

  /** Patients holding this CommCare case id; `includeAll` also finds voided ones. */
  async patientsByCaseId(caseId: string, includeAll = true): Promise<any[]> {
    const { body } = await this.openmrsGet(`patient?identifier=${encodeURIComponent(caseId)}&v=full${includeAll ? '&includeAll=true' : ''}`);
    return (body.results as any[]).filter((patient) => patient.identifiers.some((id: any) => id.identifier === caseId && id.identifierType.uuid === IDENTIFIER_TYPES.commcareCaseId));
  }

  async encounter(uuid: string): Promise<any | undefined> {
    const { status, body } = await this.openmrsGet(`encounter/${uuid}?v=full`);
    return status === 404 ? undefined : body;
  }

  async encountersOf(patient: string, type?: string): Promise<any[]> {
    const { body } = await this.openmrsGet(`encounter?patient=${patient}&v=full&includeAll=true${type ? `&encounterType=${type}` : ''}`);
    return body.results;
  }

  async obsOf(patient: string): Promise<any[]> {
    const { body } = await this.openmrsGet(`obs?patient=${patient}&v=full&includeAll=true&limit=100`);
    return body.results;
  }

  async case(caseId: string): Promise<any | undefined> {
    const response = await fetch(`${this.commcare}/a/demo/api/case/v2/${caseId}/`, { headers: COMMCARE_AUTH });
    return response.status === 404 ? undefined : response.json();
  }

  /** A new open case in CommCare, as a health worker's referral form would be filed against. */
  async createCase(name = 'Referred person'): Promise<string> {
    const response = await fetch(`${this.commcare}/a/demo/api/case/v2/`, {
      method: 'POST',
      headers: { ...COMMCARE_AUTH, ...JSON_HEADERS },
      body: JSON.stringify({ case_type: 'patient', case_name: name, owner_id: commcareSeed.KIMIRONKO_LOCATION_ID, external_id: `ref-${randomUUID()}`, properties: { referral_status: 'open' } }),
    });
    if (response.status >= 300) throw new Error(`creating a case failed: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { case: { case_id: string } }).case.case_id;
  }

  private control(system: 'openmrs' | 'commcare'): string {
    return `${system === 'openmrs' ? this.openmrs : this.commcare}/_sandbox`;
  }

  async fault(system: 'openmrs' | 'commcare', ...specs: object[]): Promise<void> {
    const response = await fetch(`${this.control(system)}/faults`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(specs) });
    if (response.status !== 201) throw new Error(`adding a fault failed: ${response.status}`);
  }

  async clearFaults(): Promise<void> {
    await fetch(`${this.control('openmrs')}/faults`, { method: 'DELETE' });
    await fetch(`${this.control('commcare')}/faults`, { method: 'DELETE' });
  }

  async requests(system: 'openmrs' | 'commcare', method: string, path: string): Promise<LoggedRequest[]> {
    const response = await fetch(`${this.control(system)}/requests?method=${method}&path=${encodeURIComponent(path)}`);
    return (await response.json()) as LoggedRequest[];
  }
}
