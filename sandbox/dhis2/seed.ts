/**
 * Seeded DHIS2 metadata and demo data. UIDs reuse the Sierra Leone demo database where the
 * meaning matches, and the UIDs of the DHIS2 docs examples (upstream samples) so that those
 * payloads import unchanged: the "Community Follow-up" program answers to IpHINAT79UW and its
 * Visit stage to A03MvHHogjR, the aggregate data set to pBOMPrpg1QX.
 */
import type {
  Category, CategoryCombo, CategoryOption, CategoryOptionCombo, DataElement, DataSet, MetadataSeed,
  OrganisationUnit, Program, ProgramStage, Ref, TrackedEntityAttribute, TrackedEntityType,
} from './metadata';
import type { ValueType } from './values';

export const ADMIN_USERNAME = 'admin';
export const ADMIN_PASSWORD = 'district';
export const ADMIN_USER_ID = 'M5zQapPyTZI';
/** A community health worker whose capture scope is Bombali only (for E1000 / E7617 checks). */
export const CHW_USERNAME = 'chw';
export const CHW_PASSWORD = 'Chw12345!';
export const CHW_USER_ID = 'Xn1Yb1AGFcI';
/** Personal access token of the admin user: send `Authorization: ApiToken <token>`. */
export const DEMO_API_TOKEN = 'd2pat_demoSandboxToken0123456789abcdefghij1234567890';

export const ORG_UNIT_SIERRA_LEONE = 'ImspTQPwCqd';
export const ORG_UNIT_BO = 'O6uvpzGd5pu';
export const ORG_UNIT_BOMBALI = 'fdc6uOvgoji';
export const ORG_UNIT_NGELEHUN_CHC = 'DiszpKrYNg8';
export const ORG_UNIT_GBENIKORO_MCHP = 'y77LiPqLMoq';
export const ORG_UNIT_KAMABAI_CHC = 'GPAfzyqrOMZ';

export const TRACKED_ENTITY_TYPE_PERSON = 'nEenWmSyUEp';
export const ATTRIBUTE_FIRST_NAME = 'w75KJ2mc4zz';
export const ATTRIBUTE_LAST_NAME = 'zDhUuAYrxNC';
export const ATTRIBUTE_SEX = 'cejWyOfXge6';
export const ATTRIBUTE_DATE_OF_BIRTH = 'iESIqZ0R0R0';
export const ATTRIBUTE_NATIONAL_ID = 'AuPLng5hLbE';
export const ATTRIBUTE_COMMCARE_CASE_ID = 'LaH0cUEKyIP';

export const PROGRAM_COMMUNITY_FOLLOW_UP = 'IpHINAT79UW';
export const PROGRAM_STAGE_REGISTRATION = 'yj7oS1Vixup';
export const PROGRAM_STAGE_VISIT = 'A03MvHHogjR';
export const DATA_ELEMENT_HOUSEHOLD_MEMBERS = 'gFgwRzaEp5o';
export const DATA_ELEMENT_VISIT_WEIGHT = 'UXz7xuGCEhU';
export const DATA_ELEMENT_VISIT_DATE = 'xCmHYUBUpdU';
export const DATA_ELEMENT_DANGER_SIGNS = 'bx6fsa0t90x';

export const DATA_SET_COMMUNITY_MONTHLY = 'pBOMPrpg1QX';
export const DATA_ELEMENT_HOME_VISITS = 'f7n9E0hX8qk';
export const DATA_ELEMENT_REFERRALS = 'Ix2HsbDMLea';
export const DATA_ELEMENT_DANGER_SIGNS_SEEN = 'eY5ehpbEsB7';
export const DATA_ELEMENT_CHILDREN_SCREENED = 'aEFOBN1WkFj';

export const CATEGORY_COMBO_DEFAULT = 'bjDvmb4bfuf';
export const CATEGORY_DEFAULT = 'GLevLNI9wkl';
export const CATEGORY_OPTION_DEFAULT = 'xYerKDKCefk';
export const CATEGORY_OPTION_COMBO_DEFAULT = 'HllvX50cXC0';
export const CATEGORY_COMBO_SEX = 'gijBvH5FxSH';
export const CATEGORY_SEX = 'XehtAXSpmHQ';
export const CATEGORY_OPTION_MALE = 'WRzZmRBwg7y';
export const CATEGORY_OPTION_FEMALE = 'UA8faLe09xv';
export const CATEGORY_OPTION_COMBO_MALE = 'lRWV170qjFP';
export const CATEGORY_OPTION_COMBO_FEMALE = 's0T9u9BpOvy';

/** A registered person with an enrollment and one visit, for demos that read before they write. */
export const SEEDED_TRACKED_ENTITY = 'ZXdEX7EE7wF';
export const SEEDED_ENROLLMENT = 'SnymQz04r2Y';
export const SEEDED_VISIT_EVENT = 'dSZomuMoMTy';
export const SEEDED_NATIONAL_ID = 'SL-1984-0042';
export const SEEDED_COMMCARE_CASE_ID = '7a1c3f0e-5b2d-4e8f-9a6b-1c2d3e4f5a6b';

export const SEEDED_AT = '2024-01-02T08:00:00.000';

const ref = (id: string): Ref => ({ id });

function identifiable(id: string, name: string, code?: string): { id: string; name: string; displayName: string; code?: string; created: string; lastUpdated: string } {
  return { id, name, displayName: name, ...(code ? { code } : {}), created: SEEDED_AT, lastUpdated: SEEDED_AT };
}

function orgUnits(): OrganisationUnit[] {
  const units: Array<[string, string, string | undefined]> = [
    [ORG_UNIT_SIERRA_LEONE, 'Sierra Leone', undefined],
    [ORG_UNIT_BO, 'Bo', ORG_UNIT_SIERRA_LEONE],
    [ORG_UNIT_BOMBALI, 'Bombali', ORG_UNIT_SIERRA_LEONE],
    [ORG_UNIT_NGELEHUN_CHC, 'Ngelehun CHC', ORG_UNIT_BO],
    [ORG_UNIT_GBENIKORO_MCHP, 'Gbenikoro MCHP', ORG_UNIT_BO],
    [ORG_UNIT_KAMABAI_CHC, 'Kamabai CHC', ORG_UNIT_BOMBALI],
  ];
  const built = new Map<string, OrganisationUnit>();
  for (const [id, name, parent] of units) {
    const parentUnit = parent ? built.get(parent) : undefined;
    const unit: OrganisationUnit = {
      ...identifiable(id, name),
      shortName: name,
      level: parentUnit ? parentUnit.level + 1 : 1,
      path: `${parentUnit ? parentUnit.path : ''}/${id}`,
      openingDate: '1970-01-01T00:00:00.000',
      children: [],
    };
    if (parentUnit) {
      unit.parent = ref(parentUnit.id);
      parentUnit.children.push(ref(id));
    }
    built.set(id, unit);
  }
  return [...built.values()];
}

function dataElement(id: string, name: string, code: string, valueType: ValueType, domainType: DataElement['domainType'], categoryCombo = CATEGORY_COMBO_DEFAULT): DataElement {
  return {
    ...identifiable(id, name, code),
    shortName: name,
    valueType,
    domainType,
    aggregationType: domainType === 'AGGREGATE' ? 'SUM' : 'NONE',
    zeroIsSignificant: false,
    categoryCombo: ref(categoryCombo),
  };
}

function attribute(id: string, name: string, code: string, valueType: ValueType, unique = false): TrackedEntityAttribute {
  return { ...identifiable(id, name, code), shortName: name, valueType, unique, generated: false, confidential: false, aggregationType: 'NONE' };
}

export function seedMetadata(): MetadataSeed {
  const categoryOptions: CategoryOption[] = [
    { ...identifiable(CATEGORY_OPTION_DEFAULT, 'default', 'default'), shortName: 'default' },
    { ...identifiable(CATEGORY_OPTION_MALE, 'Male', 'MALE'), shortName: 'Male' },
    { ...identifiable(CATEGORY_OPTION_FEMALE, 'Female', 'FEMALE'), shortName: 'Female' },
  ];
  const categories: Category[] = [
    { ...identifiable(CATEGORY_DEFAULT, 'default', 'default'), dataDimensionType: 'DISAGGREGATION', categoryOptions: [ref(CATEGORY_OPTION_DEFAULT)] },
    { ...identifiable(CATEGORY_SEX, 'Sex', 'SEX'), dataDimensionType: 'DISAGGREGATION', categoryOptions: [ref(CATEGORY_OPTION_MALE), ref(CATEGORY_OPTION_FEMALE)] },
  ];
  const categoryCombos: CategoryCombo[] = [
    { ...identifiable(CATEGORY_COMBO_DEFAULT, 'default', 'default'), dataDimensionType: 'DISAGGREGATION', isDefault: true, categories: [ref(CATEGORY_DEFAULT)], categoryOptionCombos: [ref(CATEGORY_OPTION_COMBO_DEFAULT)] },
    { ...identifiable(CATEGORY_COMBO_SEX, 'Sex', 'SEX'), dataDimensionType: 'DISAGGREGATION', isDefault: false, categories: [ref(CATEGORY_SEX)], categoryOptionCombos: [ref(CATEGORY_OPTION_COMBO_MALE), ref(CATEGORY_OPTION_COMBO_FEMALE)] },
  ];
  const categoryOptionCombos: CategoryOptionCombo[] = [
    { ...identifiable(CATEGORY_OPTION_COMBO_DEFAULT, 'default', 'default'), categoryCombo: ref(CATEGORY_COMBO_DEFAULT), categoryOptions: [ref(CATEGORY_OPTION_DEFAULT)], ignoreApproval: false },
    { ...identifiable(CATEGORY_OPTION_COMBO_MALE, 'Male'), categoryCombo: ref(CATEGORY_COMBO_SEX), categoryOptions: [ref(CATEGORY_OPTION_MALE)], ignoreApproval: false },
    { ...identifiable(CATEGORY_OPTION_COMBO_FEMALE, 'Female'), categoryCombo: ref(CATEGORY_COMBO_SEX), categoryOptions: [ref(CATEGORY_OPTION_FEMALE)], ignoreApproval: false },
  ];

  const dataElements: DataElement[] = [
    dataElement(DATA_ELEMENT_HOUSEHOLD_MEMBERS, 'CFU Household members', 'CFU_HOUSEHOLD_MEMBERS', 'INTEGER_ZERO_OR_POSITIVE', 'TRACKER'),
    dataElement(DATA_ELEMENT_VISIT_WEIGHT, 'CFU Weight (kg)', 'CFU_WEIGHT', 'NUMBER', 'TRACKER'),
    dataElement(DATA_ELEMENT_VISIT_DATE, 'CFU Visit date', 'CFU_VISIT_DATE', 'DATE', 'TRACKER'),
    dataElement(DATA_ELEMENT_DANGER_SIGNS, 'CFU Danger signs present', 'CFU_DANGER_SIGNS', 'BOOLEAN', 'TRACKER'),
    dataElement(DATA_ELEMENT_HOME_VISITS, 'CMR Home visits', 'CMR_HOME_VISITS', 'INTEGER_ZERO_OR_POSITIVE', 'AGGREGATE'),
    dataElement(DATA_ELEMENT_REFERRALS, 'CMR Referrals', 'CMR_REFERRALS', 'INTEGER_ZERO_OR_POSITIVE', 'AGGREGATE'),
    dataElement(DATA_ELEMENT_DANGER_SIGNS_SEEN, 'CMR Danger signs seen', 'CMR_DANGER_SIGNS_SEEN', 'INTEGER_ZERO_OR_POSITIVE', 'AGGREGATE'),
    dataElement(DATA_ELEMENT_CHILDREN_SCREENED, 'CMR Children screened', 'CMR_CHILDREN_SCREENED', 'INTEGER_ZERO_OR_POSITIVE', 'AGGREGATE', CATEGORY_COMBO_SEX),
  ];

  const trackedEntityAttributes: TrackedEntityAttribute[] = [
    attribute(ATTRIBUTE_FIRST_NAME, 'First name', 'MMD_PER_NAM', 'TEXT'),
    attribute(ATTRIBUTE_LAST_NAME, 'Last name', 'MMD_PER_LST_NAM', 'TEXT'),
    attribute(ATTRIBUTE_SEX, 'Sex', 'MMD_PER_SEX', 'TEXT'),
    attribute(ATTRIBUTE_DATE_OF_BIRTH, 'Date of birth', 'MMD_PER_DOB', 'DATE'),
    attribute(ATTRIBUTE_NATIONAL_ID, 'National ID', 'MMD_PER_NID', 'TEXT', true),
    attribute(ATTRIBUTE_COMMCARE_CASE_ID, 'CommCare Case ID', 'COMMCARE_CASE_ID', 'TEXT', true),
  ];

  const trackedEntityTypes: TrackedEntityType[] = [{
    ...identifiable(TRACKED_ENTITY_TYPE_PERSON, 'Person', 'PERSON'),
    featureType: 'NONE',
    trackedEntityTypeAttributes: trackedEntityAttributes.map((tea, position) => ({
      id: `PTa${tea.id.slice(3)}`.slice(0, 11),
      trackedEntityAttribute: ref(tea.id),
      mandatory: false,
      searchable: tea.unique || position < 2,
      displayInList: position < 3,
    })),
  }];

  const stageElements = (elements: Array<[string, boolean]>, stage: string) => elements.map(([id, compulsory], position) => ({
    id: `${stage.slice(0, 5)}${id.slice(0, 6)}`,
    dataElement: ref(id),
    compulsory,
    sortOrder: position + 1,
  }));
  const programStages: ProgramStage[] = [
    {
      ...identifiable(PROGRAM_STAGE_REGISTRATION, 'Registration', 'CFU_REGISTRATION'),
      program: ref(PROGRAM_COMMUNITY_FOLLOW_UP),
      repeatable: false,
      sortOrder: 1,
      programStageDataElements: stageElements([[DATA_ELEMENT_HOUSEHOLD_MEMBERS, false]], PROGRAM_STAGE_REGISTRATION),
    },
    {
      ...identifiable(PROGRAM_STAGE_VISIT, 'Visit', 'CFU_VISIT'),
      program: ref(PROGRAM_COMMUNITY_FOLLOW_UP),
      repeatable: true,
      sortOrder: 2,
      programStageDataElements: stageElements([[DATA_ELEMENT_VISIT_WEIGHT, false], [DATA_ELEMENT_VISIT_DATE, false], [DATA_ELEMENT_DANGER_SIGNS, false]], PROGRAM_STAGE_VISIT),
    },
  ];

  const mandatory = new Set([ATTRIBUTE_FIRST_NAME, ATTRIBUTE_LAST_NAME]);
  const programs: Program[] = [{
    ...identifiable(PROGRAM_COMMUNITY_FOLLOW_UP, 'Community Follow-up', 'CFU'),
    shortName: 'Community Follow-up',
    programType: 'WITH_REGISTRATION',
    trackedEntityType: ref(TRACKED_ENTITY_TYPE_PERSON),
    categoryCombo: ref(CATEGORY_COMBO_DEFAULT),
    onlyEnrollOnce: false,
    displayIncidentDate: true,
    programStages: programStages.map((stage) => ref(stage.id)),
    programTrackedEntityAttributes: trackedEntityAttributes.map((tea, position) => ({
      id: `CFa${tea.id.slice(3)}`.slice(0, 11),
      trackedEntityAttribute: ref(tea.id),
      mandatory: mandatory.has(tea.id),
      searchable: tea.unique || mandatory.has(tea.id),
      displayInList: position < 3,
      valueType: tea.valueType,
      sortOrder: position + 1,
    })),
    organisationUnits: [ORG_UNIT_NGELEHUN_CHC, ORG_UNIT_GBENIKORO_MCHP, ORG_UNIT_KAMABAI_CHC].map(ref),
  }];

  const dataSets: DataSet[] = [{
    ...identifiable(DATA_SET_COMMUNITY_MONTHLY, 'Community monthly report', 'CMR'),
    shortName: 'Community monthly report',
    periodType: 'Monthly',
    categoryCombo: ref(CATEGORY_COMBO_DEFAULT),
    dataSetElements: [DATA_ELEMENT_HOME_VISITS, DATA_ELEMENT_REFERRALS, DATA_ELEMENT_DANGER_SIGNS_SEEN, DATA_ELEMENT_CHILDREN_SCREENED]
      .map((id) => ({ dataElement: ref(id), dataSet: ref(DATA_SET_COMMUNITY_MONTHLY) })),
    organisationUnits: [ORG_UNIT_NGELEHUN_CHC, ORG_UNIT_GBENIKORO_MCHP, ORG_UNIT_KAMABAI_CHC].map(ref),
  }];

  return {
    organisationUnits: orgUnits(),
    categoryOptions,
    categories,
    categoryCombos,
    categoryOptionCombos,
    dataElements,
    trackedEntityAttributes,
    trackedEntityTypes,
    programStages,
    programs,
    dataSets,
  };
}

export interface SandboxUser {
  id: string;
  username: string;
  password: string;
  firstName: string;
  surname: string;
  /** Data capture scope: roots of the org unit trees this user may write to. */
  organisationUnits: string[];
  authorities: string[];
}

export const USERS: SandboxUser[] = [
  { id: ADMIN_USER_ID, username: ADMIN_USERNAME, password: ADMIN_PASSWORD, firstName: 'John', surname: 'Traore', organisationUnits: [ORG_UNIT_SIERRA_LEONE], authorities: ['ALL'] },
  { id: CHW_USER_ID, username: CHW_USERNAME, password: CHW_PASSWORD, firstName: 'Fatmata', surname: 'Sesay', organisationUnits: [ORG_UNIT_BOMBALI], authorities: ['F_TRACKED_ENTITY_INSTANCE_ADD', 'F_DATAVALUE_ADD'] },
];
