/**
 * Seeded RapidPro workspace. Fixed UUIDs so example flows, the demo and tests can refer to them.
 */

export const API_TOKEN = 'demo-rapidpro-token';
export const USER_EMAIL = 'demo@example.org';
export const WORKSPACE_UUID = '3f1d9a52-6b0e-4c1f-9d2a-7e8b4c5a6d01';

export const CHANNEL = { uuid: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', name: 'Demo Android Channel', address: '+250788000001' };

export const PREGNANT_WOMEN_GROUP_UUID = 'b7a3e1d2-4c5f-4e6a-9b8c-0d1e2f3a4b51';
export const CHT_CONTACTS_GROUP_UUID = 'c8b4f2e3-5d6a-4f7b-8c9d-1e2f3a4b5c62';

export const GROUPS = [
  { uuid: PREGNANT_WOMEN_GROUP_UUID, name: 'Pregnant women' },
  { uuid: CHT_CONTACTS_GROUP_UUID, name: 'CHT contacts' },
];

export const FIELDS = [
  { key: 'cht_id', name: 'CHT ID', type: 'text' },
  { key: 'edd', name: 'EDD', type: 'datetime' },
  { key: 'village', name: 'Village', type: 'text' },
];

export interface SeededResult {
  key: string;
  name: string;
  value: string;
  category: string;
  categories: string[];
  input: string;
}

export interface SeededFlow {
  uuid: string;
  name: string;
  /** Node UUIDs a completed run passes through, in order. */
  nodes: string[];
  results: SeededResult[];
}

export const PREGNANCY_REMINDERS_FLOW_UUID = 'd9c5a3f4-6e7b-4a8c-9d0e-2f3a4b5c6d73';
export const FOLLOW_UP_SURVEY_FLOW_UUID = 'e0d6b4a5-7f8c-4b9d-8e1f-3a4b5c6d7e84';

export const FLOWS: SeededFlow[] = [
  {
    uuid: PREGNANCY_REMINDERS_FLOW_UUID,
    name: 'Pregnancy reminders',
    nodes: ['1a2b3c4d-0001-4000-8000-000000000001', '1a2b3c4d-0001-4000-8000-000000000002', '1a2b3c4d-0001-4000-8000-000000000003'],
    results: [
      { key: 'anc_visit', name: 'ANC Visit', value: 'yes', category: 'Yes', categories: ['Yes', 'No', 'Other'], input: 'yes' },
      { key: 'danger_signs', name: 'Danger Signs', value: 'none', category: 'None', categories: ['None', 'Bleeding', 'Fever', 'Other'], input: 'none' },
    ],
  },
  {
    uuid: FOLLOW_UP_SURVEY_FLOW_UUID,
    name: 'Follow-up survey',
    nodes: ['2b3c4d5e-0002-4000-8000-000000000001', '2b3c4d5e-0002-4000-8000-000000000002'],
    results: [
      { key: 'feeling', name: 'Feeling', value: 'good', category: 'Good', categories: ['Good', 'Bad', 'Other'], input: 'good' },
    ],
  },
];

export const CONTACT_CLAUDINE_UUID = 'f1e7c5b6-8a9d-4cae-9f20-4b5c6d7e8f95';
export const CONTACT_DIANE_UUID = '02f8d6c7-9bae-4dbf-8a31-5c6d7e8f9006';
export const CONTACT_GRACE_UUID = '13a9e7d8-acbf-4ec0-9b42-6d7e8f901a17';

export const CONTACTS = [
  {
    uuid: CONTACT_CLAUDINE_UUID,
    name: 'Claudine Mukamana',
    language: 'kin',
    urns: ['tel:+250788200001'],
    groups: [PREGNANT_WOMEN_GROUP_UUID, CHT_CONTACTS_GROUP_UUID],
    fields: { cht_id: 'CHT-P-0001', edd: '2024-07-20T00:00:00.000000Z', village: 'Kimironko' } as Record<string, string>,
  },
  {
    uuid: CONTACT_DIANE_UUID,
    name: 'Diane Uwimana',
    language: 'kin',
    urns: ['tel:+250788200002'],
    groups: [CHT_CONTACTS_GROUP_UUID],
    fields: { cht_id: 'CHT-P-0002', village: 'Kimironko' } as Record<string, string>,
  },
  {
    uuid: CONTACT_GRACE_UUID,
    name: 'Grace Uwase',
    language: 'eng',
    urns: ['tel:+250788200004', 'whatsapp:250788200004'],
    groups: [PREGNANT_WOMEN_GROUP_UUID],
    fields: { village: 'Remera' } as Record<string, string>,
  },
];
