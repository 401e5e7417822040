/**
 * Tracked entity search shared by /api/tracker/trackedEntities and the legacy
 * /api/trackedEntityInstances, including DHIS2's 2.37+ rule that a search names a program or
 * a tracked entity type (the 409 that broke many integrations).
 */
import type { SandboxUser } from './seed';
import type { Dhis2Store, TrackedEntity } from './store';
import { matchesCondition, orgUnitScope, parseAttributeFilters } from './query';
import { WebMessageError } from './web-message';

export interface SearchCriteria {
  program?: string;
  trackedEntityType?: string;
  orgUnits: string[];
  orgUnitMode?: string;
  trackedEntities: string[];
  filters: string[];
  updatedAfter?: string;
  updatedBefore?: string;
  enrollmentStatus?: string;
  includeDeleted: boolean;
}

export function searchTrackedEntities(store: Dhis2Store, user: SandboxUser, criteria: SearchCriteria): TrackedEntity[] {
  const { metadata } = store;
  if (criteria.program && criteria.trackedEntityType) throw new WebMessageError(409, 'Program and tracked entity cannot be specified simultaneously');
  if (!criteria.program && !criteria.trackedEntityType && criteria.trackedEntities.length === 0) {
    throw new WebMessageError(409, 'Either Program or Tracked entity type should be specified');
  }
  if (criteria.program && !metadata.programs.has(criteria.program)) throw new WebMessageError(400, `Program is specified but does not exist: ${criteria.program}`);
  if (criteria.trackedEntityType && !metadata.trackedEntityTypes.has(criteria.trackedEntityType)) {
    throw new WebMessageError(400, `Tracked entity type is specified but does not exist: ${criteria.trackedEntityType}`);
  }
  if (criteria.enrollmentStatus && !criteria.program) throw new WebMessageError(409, 'Program must be defined when program status is defined');
  const scope = orgUnitScope(metadata, user, criteria.orgUnits, criteria.orgUnitMode, criteria.trackedEntities.length > 0);
  const conditions = parseAttributeFilters(metadata, criteria.filters);

  // An EQ condition narrows the candidates through the attribute index instead of a full scan.
  const indexed = conditions.find((condition) => condition.operator === 'EQ');
  let candidates: Iterable<string>;
  if (criteria.trackedEntities.length > 0) candidates = criteria.trackedEntities;
  else if (indexed) candidates = store.findByAttribute(indexed.attribute, indexed.value);
  else candidates = store.trackedEntities.keys();

  const found: TrackedEntity[] = [];
  for (const uid of candidates) {
    const entity = store.trackedEntities.get(uid);
    if (!entity || (entity.deleted && !criteria.includeDeleted)) continue;
    if (criteria.trackedEntityType && entity.trackedEntityType !== criteria.trackedEntityType) continue;
    if (criteria.program && !enrolledIn(store, entity, criteria.program, criteria.enrollmentStatus)) continue;
    const owner = (criteria.program && entity.programOwners.get(criteria.program)) || entity.orgUnit;
    if (scope && !scope.has(owner)) continue;
    if (criteria.updatedAfter && entity.updatedAt < criteria.updatedAfter) continue;
    if (criteria.updatedBefore && entity.updatedAt > criteria.updatedBefore) continue;
    if (!conditions.every((condition) => matchesCondition(entity, condition))) continue;
    found.push(entity);
  }
  // Newest first, as DHIS2 orders by internal id descending by default.
  return found.sort((a, b) => b.seq - a.seq);
}

function enrolledIn(store: Dhis2Store, entity: TrackedEntity, program: string, status?: string): boolean {
  return entity.enrollments.some((uid) => {
    const enrollment = store.enrollments.get(uid);
    return enrollment && !enrollment.deleted && enrollment.program === program && (!status || enrollment.status === status.toUpperCase());
  });
}
