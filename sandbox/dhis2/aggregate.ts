/**
 * /api/dataValueSets as in 2.40: a WebMessage around an ImportSummary whose conflicts carry
 * errorCode, property, objects and the indexes of the rejected values (409 with status WARNING
 * when any value was rejected). Async imports are answered like DHIS2's DATAVALUE_IMPORT jobs.
 */
import { dhis2Uid, type SandboxApp, type SandboxRequest, type SandboxResponse } from '../core';
import { currentUser } from './auth';
import { firstParam, listParam } from './query';
import type { SandboxUser } from './seed';
import { CATEGORY_OPTION_COMBO_DEFAULT } from './seed';
import { dataValueKey, type DataValue, type Dhis2Store } from './store';
import { now, parsePeriod, valueTypeError } from './values';
import { booleanParam, enumParam, guarded, respond, webMessage } from './web-message';

type Json = Record<string, unknown>;
const STRATEGIES = ['CREATE', 'UPDATE', 'CREATE_AND_UPDATE', 'DELETE', 'NEW_AND_UPDATES', 'NEW', 'UPDATES'] as const;
type Strategy = (typeof STRATEGIES)[number];

export interface DataValueConflict {
  object: string;
  objects: Record<string, string>;
  value: string;
  errorCode: string;
  property: string;
  indexes: number[];
}

export interface DataValueImportSummary {
  responseType: 'ImportSummary';
  status: 'SUCCESS' | 'WARNING' | 'ERROR';
  importOptions: Json;
  description: string;
  importCount: { imported: number; updated: number; ignored: number; deleted: number };
  conflicts: DataValueConflict[];
  rejectedIndexes: number[];
  dataSetComplete: string;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

function importOptions(strategy: Strategy, dryRun: boolean, async: boolean): Json {
  return {
    idSchemes: {}, dryRun, preheatCache: false, async, importStrategy: strategy, mergeMode: 'REPLACE', reportMode: 'FULL',
    skipExistingCheck: false, sharing: false, skipNotifications: false, skipAudit: false, datasetAllowsPeriods: false,
    strictPeriods: false, strictDataElements: false, strictCategoryOptionCombos: false, strictAttributeOptionCombos: false,
    strictOrganisationUnits: false, strictDataSetApproval: false, strictDataSetLocking: false, strictDataSetInputPeriods: false,
    requireCategoryOptionCombo: false, requireAttributeOptionCombo: false, skipPatternValidation: false, ignoreEmptyCollection: false,
    force: false, firstRowIsHeader: true, skipLastUpdated: false, mergeDataValues: false, skipCache: false,
  };
}

class ConflictList {
  readonly conflicts: DataValueConflict[] = [];
  private readonly byKey = new Map<string, DataValueConflict>();

  /** DHIS2 merges identical conflicts and lists every value index that hit them. */
  add(index: number, errorCode: string, property: string, objects: Record<string, string>, value: string): void {
    const object = Object.values(objects)[0] ?? '';
    const key = `${errorCode}|${object}|${value}`;
    const existing = this.byKey.get(key);
    if (existing) {
      if (index >= 0) existing.indexes.push(index);
      return;
    }
    const conflict: DataValueConflict = { object, objects, value, errorCode, property, indexes: index >= 0 ? [index] : [] };
    this.byKey.set(key, conflict);
    this.conflicts.push(conflict);
  }
}

export function importDataValueSet(store: Dhis2Store, body: Json, user: SandboxUser, strategy: Strategy, dryRun: boolean, async: boolean): DataValueImportSummary {
  const { metadata } = store;
  const summary: DataValueImportSummary = {
    responseType: 'ImportSummary',
    status: 'SUCCESS',
    importOptions: importOptions(strategy, dryRun, async),
    description: 'Import process completed successfully',
    importCount: { imported: 0, updated: 0, ignored: 0, deleted: 0 },
    conflicts: [],
    rejectedIndexes: [],
    dataSetComplete: 'false',
  };
  const conflicts = new ConflictList();
  const abort = (errorCode: string, property: string, objects: Record<string, string>, value: string): DataValueImportSummary => {
    conflicts.add(-1, errorCode, property, objects, value);
    return { ...summary, status: 'ERROR', description: 'Import process was aborted', conflicts: conflicts.conflicts };
  };
  const dataSetUid = str(body.dataSet);
  if (dataSetUid && !metadata.dataSets.has(dataSetUid)) return abort('E7600', 'dataSet', { dataSet: dataSetUid }, `Data set not found or not accessible: \`${dataSetUid}\``);
  const setOrgUnit = str(body.orgUnit);
  if (setOrgUnit && !metadata.orgUnits.has(setOrgUnit)) return abort('E7603', 'orgUnit', { organisationUnit: setOrgUnit }, `Org unit not found or not accessible: \`${setOrgUnit}\``);
  const setCombo = str(body.attributeOptionCombo);
  if (setCombo && !metadata.categoryOptionCombos.has(setCombo)) return abort('E7604', 'attributeOptionCombo', { categoryOptionCombo: setCombo }, `Attribute option combo not found or not accessible: \`${setCombo}\``);

  const values = Array.isArray(body.dataValues) ? body.dataValues : [];
  const rejected = new Set<number>();
  const at = now();
  values.forEach((raw, index) => {
    const item = (typeof raw === 'object' && raw !== null ? raw : {}) as Json;
    const reject = (errorCode: string, property: string, objects: Record<string, string>, value: string): void => {
      conflicts.add(index, errorCode, property, objects, value);
      rejected.add(index);
    };
    const dataElementUid = str(item.dataElement) ?? '';
    const dataElement = metadata.dataElements.get(dataElementUid);
    if (!dataElement) return reject('E7610', 'dataElement', { dataElement: dataElementUid }, `Data element not found or not accessible: \`${dataElementUid}\``);
    const periodId = str(item.period) ?? str(body.period) ?? '';
    if (!parsePeriod(periodId)) return reject('E7611', 'period', { period: periodId }, `Period not valid: \`${periodId}\``);
    const orgUnit = str(item.orgUnit) ?? setOrgUnit ?? '';
    if (!metadata.orgUnits.has(orgUnit)) return reject('E7612', 'orgUnit', { organisationUnit: orgUnit }, `Organisation unit not found or not accessible: \`${orgUnit}\``);
    const categoryOptionCombo = str(item.categoryOptionCombo) ?? CATEGORY_OPTION_COMBO_DEFAULT;
    if (!metadata.categoryOptionCombos.has(categoryOptionCombo)) {
      return reject('E7613', 'categoryOptionCombo', { categoryOptionCombo }, `Category option combo not found or not accessible for writing data: \`${categoryOptionCombo}\``);
    }
    const attributeOptionCombo = str(item.attributeOptionCombo) ?? setCombo ?? CATEGORY_OPTION_COMBO_DEFAULT;
    if (!metadata.categoryOptionCombos.has(attributeOptionCombo)) {
      return reject('E7615', 'attributeOptionCombo', { categoryOptionCombo: attributeOptionCombo }, `Attribute option combo not found or not accessible for writing data: \`${attributeOptionCombo}\``);
    }
    if (!user.organisationUnits.some((root) => metadata.isWithin(orgUnit, root))) {
      return reject('E7617', 'orgUnit', { organisationUnit: orgUnit, user: user.id }, `Organisation unit: \`${orgUnit}\` not in hierarchy of current user: \`${user.id}\``);
    }
    const value = item.value === null || item.value === undefined ? '' : String(item.value);
    const comment = str(item.comment);
    const deleting = strategy === 'DELETE' || item.deleted === true;
    if (value === '' && !comment && !deleting) {
      return reject('E7618', 'value', { dataElement: dataElementUid }, `Data value or comment not specified for data element: \`${dataElementUid}\``);
    }
    const problem = value === '' ? undefined : valueTypeError(dataElement.valueType, value);
    if (problem) return reject('E7619', 'value', { dataElement: dataElementUid }, `Value must match data element's \`${dataElementUid}\` type constraints: ${problem}`);
    const combo = metadata.categoryCombos.get(dataElement.categoryCombo.id);
    if (combo && !combo.categoryOptionCombos.some((ref) => ref.id === categoryOptionCombo)) {
      return reject('E7634', 'categoryOptionCombo', { categoryOptionCombo, dataElement: dataElementUid }, `Category option combo: \`${categoryOptionCombo}\` must be part of category combo of data element: \`${dataElementUid}\``);
    }

    const key = dataValueKey(dataElementUid, periodId, orgUnit, categoryOptionCombo, attributeOptionCombo);
    const existing = store.dataValues.get(key);
    if (deleting) {
      if (!existing) {
        summary.importCount.ignored += 1;
        return undefined;
      }
      if (!dryRun) store.dataValues.delete(key);
      summary.importCount.deleted += 1;
      return undefined;
    }
    const creates = ['CREATE', 'NEW'].includes(strategy);
    const updates = ['UPDATE', 'UPDATES'].includes(strategy);
    if ((existing && creates) || (!existing && updates)) {
      summary.importCount.ignored += 1;
      return undefined;
    }
    const stored: DataValue = {
      dataElement: dataElementUid, period: periodId, orgUnit, categoryOptionCombo, attributeOptionCombo, value,
      ...(comment ? { comment } : {}), followup: item.followup === true, storedBy: user.username,
      created: existing?.created ?? at, lastUpdated: at,
    };
    if (!dryRun) store.dataValues.set(key, stored);
    if (existing) summary.importCount.updated += 1;
    else summary.importCount.imported += 1;
    return undefined;
  });

  summary.importCount.ignored += rejected.size;
  summary.conflicts = conflicts.conflicts;
  summary.rejectedIndexes = [...rejected].sort((a, b) => a - b);
  if (summary.conflicts.length > 0) summary.status = 'WARNING';
  const completeDate = str(body.completeDate);
  if (dataSetUid && completeDate && setOrgUnit && str(body.period)) {
    summary.dataSetComplete = completeDate;
    if (!dryRun) store.completions.set(`${dataSetUid}|${body.period}|${setOrgUnit}|${setCombo ?? CATEGORY_OPTION_COMBO_DEFAULT}`, completeDate);
  }
  return summary;
}

function summaryResponse(summary: DataValueImportSummary): SandboxResponse {
  if (summary.status === 'ERROR') return { status: 409, body: webMessage(409, 'ERROR', 'An error occurred, please check import summary.', summary) };
  if (summary.conflicts.length > 0) return { status: 409, body: webMessage(409, 'WARNING', 'One more conflicts encountered, please check import summary.', summary) };
  return { status: 200, body: webMessage(200, 'OK', 'Import was successful.', summary) };
}

export function aggregateRoutes(app: SandboxApp, store: Dhis2Store): void {
  app.post('/api/dataValueSets', guarded((req: SandboxRequest): SandboxResponse => {
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) return respond(400, 'ERROR', 'Request body must be a JSON data value set');
    const strategy = enumParam<Strategy>(req.query, 'importStrategy', STRATEGIES, 'CREATE_AND_UPDATE');
    const dryRun = booleanParam(req.query, 'dryRun', false);
    const async = booleanParam(req.query, 'async', false);
    const summary = importDataValueSet(store, req.body as Json, currentUser(req), strategy, dryRun, async);
    if (!async) return summaryResponse(summary);
    const id = dhis2Uid();
    const created = now();
    store.addJob({
      id,
      report: summary,
      notifications: [{ uid: id, level: 'INFO', category: 'DATAVALUE_IMPORT', time: created, message: 'Import done', completed: true, id }],
    });
    return respond(200, 'OK', 'Initiated DATAVALUE_IMPORT', {
      name: 'DATAVALUE_IMPORT', id, created, jobType: 'DATAVALUE_IMPORT', relativeNotifierEndpoint: `/api/system/tasks/DATAVALUE_IMPORT/${id}`,
    });
  }));

  app.get('/api/system/tasks/DATAVALUE_IMPORT/:id', (req) => {
    const job = store.jobs.get(req.params.id);
    return { status: 200, body: job ? job.notifications : [] };
  });

  app.get('/api/system/taskSummaries/DATAVALUE_IMPORT/:id', (req) => {
    const job = store.jobs.get(req.params.id);
    return job ? { status: 200, body: job.report } : respond(404, 'ERROR', `Job with id ${req.params.id} could not be found.`);
  });

  app.get('/api/dataValueSets', guarded((req: SandboxRequest): SandboxResponse => {
    const { query } = req;
    const { metadata } = store;
    const dataSets = listParam(query, 'dataSet');
    const dataElements = new Set(listParam(query, 'dataElement'));
    if (dataSets.length === 0 && dataElements.size === 0) return respond(409, 'ERROR', 'At least one data set or data element group must be specified');
    for (const dataSet of dataSets) {
      const found = metadata.dataSets.get(dataSet);
      if (!found) return respond(409, 'ERROR', `Data set does not exist: ${dataSet}`);
      for (const element of found.dataSetElements) dataElements.add(element.dataElement.id);
    }
    const periods = new Set(listParam(query, 'period'));
    const startDate = firstParam(query, 'startDate');
    const endDate = firstParam(query, 'endDate');
    if (periods.size === 0 && !(startDate && endDate)) return respond(409, 'ERROR', 'At least one valid period, start date or end date must be specified');
    const roots = listParam(query, 'orgUnit');
    if (roots.length === 0) return respond(409, 'ERROR', 'At least one valid organisation unit must be specified');
    const orgUnits = metadata.selectOrgUnits(roots, booleanParam(query, 'children', false) ? 'DESCENDANTS' : 'SELECTED');
    const values = [...store.dataValues.values()].filter((value) => dataElements.has(value.dataElement)
      && orgUnits.has(value.orgUnit)
      && (periods.size === 0 || periods.has(value.period))
      && (!startDate || !endDate || periodWithin(value.period, startDate, endDate)));
    const body: Json = {};
    if (dataSets.length === 1) body.dataSet = dataSets[0];
    const completeDate = dataSets.length === 1 && periods.size === 1 && roots.length === 1
      ? store.completions.get(`${dataSets[0]}|${[...periods][0]}|${roots[0]}|${CATEGORY_OPTION_COMBO_DEFAULT}`) : undefined;
    if (completeDate) body.completeDate = completeDate;
    if (periods.size === 1) body.period = [...periods][0];
    if (roots.length === 1) body.orgUnit = roots[0];
    body.dataValues = values.map((value) => ({
      dataElement: value.dataElement, period: value.period, orgUnit: value.orgUnit, categoryOptionCombo: value.categoryOptionCombo,
      attributeOptionCombo: value.attributeOptionCombo, value: value.value, storedBy: value.storedBy, created: value.created,
      lastUpdated: value.lastUpdated, ...(value.comment ? { comment: value.comment } : {}), followup: value.followup,
    }));
    return { status: 200, body };
  }));
}

/** Coarse period-in-range check on the period's first day, enough for startDate/endDate reads. */
function periodWithin(period: string, startDate: string, endDate: string): boolean {
  const digits = period.replace(/\D.*$/, '');
  const start = `${digits.slice(0, 4)}-${digits.slice(4, 6) || '01'}-${digits.slice(6, 8) || '01'}`;
  return start >= startDate.slice(0, 10) && start <= endDate.slice(0, 10);
}
