/**
 * Metadata as DHIS2 serves it: plain objects whose references to other objects are `{id}` stubs.
 * Every UID is globally unique in DHIS2, so one index by id resolves any reference, which is what
 * nested field selections such as `programStages[id,name]` need.
 */
import type { PeriodType, ValueType } from './values';

export interface Ref { id: string }

export interface Identifiable {
  id: string;
  name: string;
  displayName: string;
  code?: string;
  created: string;
  lastUpdated: string;
}

export interface OrganisationUnit extends Identifiable {
  shortName: string;
  level: number;
  path: string;
  openingDate: string;
  parent?: Ref;
  children: Ref[];
}

export interface CategoryOption extends Identifiable { shortName: string }
export interface Category extends Identifiable { dataDimensionType: 'DISAGGREGATION' | 'ATTRIBUTE'; categoryOptions: Ref[] }
export interface CategoryCombo extends Identifiable {
  dataDimensionType: 'DISAGGREGATION' | 'ATTRIBUTE';
  isDefault: boolean;
  categories: Ref[];
  categoryOptionCombos: Ref[];
}
export interface CategoryOptionCombo extends Identifiable { categoryCombo: Ref; categoryOptions: Ref[]; ignoreApproval: boolean }

export interface DataElement extends Identifiable {
  shortName: string;
  valueType: ValueType;
  domainType: 'AGGREGATE' | 'TRACKER';
  aggregationType: string;
  zeroIsSignificant: boolean;
  categoryCombo: Ref;
}

export interface TrackedEntityAttribute extends Identifiable {
  shortName: string;
  valueType: ValueType;
  unique: boolean;
  generated: boolean;
  confidential: boolean;
  aggregationType: string;
}

export interface TrackedEntityType extends Identifiable {
  featureType: string;
  trackedEntityTypeAttributes: Array<{ id: string; trackedEntityAttribute: Ref; mandatory: boolean; searchable: boolean; displayInList: boolean }>;
}

export interface ProgramStageDataElement { id: string; dataElement: Ref; compulsory: boolean; sortOrder: number }

export interface ProgramStage extends Identifiable {
  program: Ref;
  repeatable: boolean;
  sortOrder: number;
  programStageDataElements: ProgramStageDataElement[];
}

export interface ProgramTrackedEntityAttribute {
  id: string;
  trackedEntityAttribute: Ref;
  mandatory: boolean;
  searchable: boolean;
  displayInList: boolean;
  valueType: ValueType;
  sortOrder: number;
}

export interface Program extends Identifiable {
  shortName: string;
  programType: 'WITH_REGISTRATION' | 'WITHOUT_REGISTRATION';
  trackedEntityType: Ref;
  categoryCombo: Ref;
  onlyEnrollOnce: boolean;
  displayIncidentDate: boolean;
  programStages: Ref[];
  programTrackedEntityAttributes: ProgramTrackedEntityAttribute[];
  organisationUnits: Ref[];
}

export interface DataSet extends Identifiable {
  shortName: string;
  periodType: PeriodType;
  categoryCombo: Ref;
  dataSetElements: Array<{ dataElement: Ref; dataSet: Ref }>;
  organisationUnits: Ref[];
}

export interface MetadataSeed {
  organisationUnits: OrganisationUnit[];
  categoryOptions: CategoryOption[];
  categories: Category[];
  categoryCombos: CategoryCombo[];
  categoryOptionCombos: CategoryOptionCombo[];
  dataElements: DataElement[];
  trackedEntityAttributes: TrackedEntityAttribute[];
  trackedEntityTypes: TrackedEntityType[];
  programStages: ProgramStage[];
  programs: Program[];
  dataSets: DataSet[];
}

export type CollectionName = keyof MetadataSeed;

/** The singular type name DHIS2 uses in messages such as "Program with id x could not be found." */
export const TYPE_NAMES: Record<CollectionName, string> = {
  organisationUnits: 'OrganisationUnit',
  categoryOptions: 'CategoryOption',
  categories: 'Category',
  categoryCombos: 'CategoryCombo',
  categoryOptionCombos: 'CategoryOptionCombo',
  dataElements: 'DataElement',
  trackedEntityAttributes: 'TrackedEntityAttribute',
  trackedEntityTypes: 'TrackedEntityType',
  programStages: 'ProgramStage',
  programs: 'Program',
  dataSets: 'DataSet',
};

/** Read-only metadata with the lookups the importers need, all O(1). */
export class Metadata {
  readonly byId = new Map<string, Identifiable>();
  readonly collections: MetadataSeed;
  readonly orgUnits = new Map<string, OrganisationUnit>();
  readonly programs = new Map<string, Program>();
  readonly programStages = new Map<string, ProgramStage>();
  readonly dataElements = new Map<string, DataElement>();
  readonly attributes = new Map<string, TrackedEntityAttribute>();
  readonly trackedEntityTypes = new Map<string, TrackedEntityType>();
  readonly dataSets = new Map<string, DataSet>();
  readonly categoryOptionCombos = new Map<string, CategoryOptionCombo>();
  readonly categoryCombos = new Map<string, CategoryCombo>();
  /** programStage -> dataElement -> its programStageDataElement */
  readonly stageDataElements = new Map<string, Map<string, ProgramStageDataElement>>();
  /** program -> attribute -> its programTrackedEntityAttribute */
  readonly programAttributes = new Map<string, Map<string, ProgramTrackedEntityAttribute>>();
  /** program -> org units the program is assigned to */
  readonly programOrgUnits = new Map<string, Set<string>>();

  constructor(seed: MetadataSeed) {
    this.collections = seed;
    for (const list of Object.values(seed) as Identifiable[][]) {
      for (const item of list) this.byId.set(item.id, item);
    }
    index(seed.organisationUnits, this.orgUnits);
    index(seed.programs, this.programs);
    index(seed.programStages, this.programStages);
    index(seed.dataElements, this.dataElements);
    index(seed.trackedEntityAttributes, this.attributes);
    index(seed.trackedEntityTypes, this.trackedEntityTypes);
    index(seed.dataSets, this.dataSets);
    index(seed.categoryOptionCombos, this.categoryOptionCombos);
    index(seed.categoryCombos, this.categoryCombos);
    for (const stage of seed.programStages) {
      this.stageDataElements.set(stage.id, new Map(stage.programStageDataElements.map((psde) => [psde.dataElement.id, psde])));
    }
    for (const program of seed.programs) {
      this.programAttributes.set(program.id, new Map(program.programTrackedEntityAttributes.map((ptea) => [ptea.trackedEntityAttribute.id, ptea])));
      this.programOrgUnits.set(program.id, new Set(program.organisationUnits.map((ref) => ref.id)));
    }
  }

  /** True when `orgUnit` is `ancestor` or lies below it. */
  isWithin(orgUnit: string, ancestor: string): boolean {
    const unit = this.orgUnits.get(orgUnit);
    return Boolean(unit && unit.path.split('/').includes(ancestor));
  }

  /** The org units an `ouMode` selects, starting from `roots`. */
  selectOrgUnits(roots: string[], mode: 'SELECTED' | 'CHILDREN' | 'DESCENDANTS'): Set<string> {
    const selected = new Set<string>();
    for (const root of roots) {
      const unit = this.orgUnits.get(root);
      if (!unit) continue;
      selected.add(root);
      if (mode === 'CHILDREN') for (const child of unit.children) selected.add(child.id);
      if (mode === 'DESCENDANTS') {
        for (const candidate of this.orgUnits.values()) if (candidate.path.startsWith(`${unit.path}/`)) selected.add(candidate.id);
      }
    }
    return selected;
  }
}

function index<T extends { id: string }>(items: T[], map: Map<string, T>): void {
  for (const item of items) map.set(item.id, item);
}
