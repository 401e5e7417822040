/**
 * Reading DHIS2's answers: the WebMessage envelope, the 2.38+ tracker ImportReport, the legacy
 * ImportSummaries (whose HTTP 200 can hide a nested ERROR) and dataValueSets conflicts.
 */
import type { DataValueConflict, DataValueImportSummary, ImportReport, Json, TrackerErrorReport } from './types';

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

/** "E1018 (ENROLLMENT MNWZ6hnuhSw): Attribute: `w75KJ2mc4zz`, is mandatory ..." */
export function describeErrorReport(report: TrackerErrorReport): string {
  return `${report.errorCode} (${report.trackerType} ${report.uid}): ${report.message}`;
}

export function isImportReport(body: unknown): body is ImportReport {
  return isObject(body) && isObject(body.validationReport) && typeof body.status === 'string';
}

export function importReportErrors(report: ImportReport): TrackerErrorReport[] {
  return Array.isArray(report.validationReport?.errorReports) ? report.validationReport.errorReports : [];
}

/** `{object, value}` or `{objects, value, errorCode}` as one line. */
export function describeConflict(conflict: DataValueConflict): string {
  const code = conflict.errorCode ? `${conflict.errorCode} ` : '';
  const object = conflict.property ?? conflict.object;
  return `${code}${object ? `(${object}) ` : ''}${conflict.value}`.trim();
}

// ---- legacy ImportSummaries ----

export type LegacyKind = 'trackedEntity' | 'enrollment' | 'event';

export interface LegacySummaryNode {
  kind: LegacyKind;
  status: string;
  reference?: string;
  description?: string;
  conflicts: Array<{ object?: string; value?: string }>;
  /** The UID of the tracked entity or enrollment whose summary holds this one. */
  parent?: string;
  imported: boolean;
  updated: boolean;
}

function summariesOf(container: unknown): Json[] {
  if (!isObject(container)) return [];
  return Array.isArray(container.importSummaries) ? container.importSummaries.filter(isObject) : [];
}

/**
 * Every ImportSummary in a legacy answer, however deep: tracked entity summaries hold
 * `enrollments.importSummaries`, which hold `events.importSummaries`. `topKind` says what the
 * top-level summaries describe (a /api/events import answers with event summaries).
 */
export function walkImportSummaries(body: unknown, topKind: LegacyKind = 'trackedEntity'): LegacySummaryNode[] {
  const nodes: LegacySummaryNode[] = [];
  const root = isObject(body) && isObject(body.response) ? body.response : body;
  const visit = (summary: Json, kind: LegacyKind, parent?: string): void => {
    const count = isObject(summary.importCount) ? summary.importCount : {};
    const reference = text(summary.reference);
    nodes.push({
      kind,
      status: text(summary.status) ?? 'SUCCESS',
      reference,
      description: text(summary.description),
      conflicts: Array.isArray(summary.conflicts) ? summary.conflicts.filter(isObject).map((c) => ({ object: text(c.object), value: text(c.value) })) : [],
      parent,
      imported: Number(count.imported) > 0,
      updated: Number(count.updated) > 0,
    });
    for (const child of summariesOf(summary.enrollments)) visit(child, 'enrollment', reference);
    for (const child of summariesOf(summary.events)) visit(child, 'event', reference);
  };
  if (isObject(root) && root.responseType === 'ImportSummary') visit(root, topKind);
  else for (const summary of summariesOf(root)) visit(summary, topKind);
  return nodes;
}

export function describeLegacySummary(node: LegacySummaryNode): string {
  const what = `${node.kind}${node.reference ? ` ${node.reference}` : ''}`;
  const conflicts = node.conflicts.map((c) => [c.object, c.value].filter(Boolean).join(': ')).filter(Boolean);
  const reason = [node.description, ...conflicts].filter(Boolean).join('; ') || 'import failed';
  return `${what}: ${reason}`;
}

/** The failed summaries of a legacy answer, nested ones included. */
export function legacyErrors(body: unknown, topKind: LegacyKind = 'trackedEntity'): LegacySummaryNode[] {
  return walkImportSummaries(body, topKind).filter((node) => node.status === 'ERROR');
}

// ---- dataValueSets ----

/** The ImportSummary of a dataValueSets answer: bare (≤2.37) or inside a WebMessage (2.38+). */
export function dataValueSummary(body: unknown): DataValueImportSummary | undefined {
  if (!isObject(body)) return undefined;
  const candidate = isObject(body.response) ? body.response : body;
  return isObject(candidate.importCount) || Array.isArray(candidate.conflicts) ? (candidate as unknown as DataValueImportSummary) : undefined;
}

// ---- one line for an HTTP error ----

const MAX_LISTED = 3;

function listSome(lines: string[]): string {
  const shown = lines.slice(0, MAX_LISTED).join('; ');
  return lines.length > MAX_LISTED ? `${shown}; and ${lines.length - MAX_LISTED} more` : shown;
}

/** The HttpClient's summarizeError for DHIS2: the most specific reason the body gives. */
export function summarizeDhis2Error(_status: number, body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const report = isImportReport(body) ? body : isImportReport(body.response) ? body.response : undefined;
  if (report) {
    const errors = importReportErrors(report);
    if (errors.length) return listSome(errors.map(describeErrorReport));
  }
  const nested = legacyErrors(body);
  if (nested.length) return listSome(nested.map(describeLegacySummary));
  const summary = dataValueSummary(body);
  if (summary?.conflicts?.length) return listSome(summary.conflicts.map(describeConflict));
  const message = text(body.message);
  const description = isObject(body.response) ? text(body.response.description) : undefined;
  return [message, description].filter(Boolean).join(': ') || undefined;
}
