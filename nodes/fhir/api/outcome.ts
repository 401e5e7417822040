/**
 * FHIR's error body, the OperationOutcome, read into one line for IntegrationError. The HTTP status
 * decides the error code (core classifyStatus: 400/422 validation, 401/403 auth, 404/410 not-found,
 * 409/412 conflict); the issues say what was wrong.
 */
import { IntegrationError, defaultErrorSummary } from '../../core/errors';

interface Issue {
  severity?: unknown;
  code?: unknown;
  diagnostics?: unknown;
  details?: { text?: unknown; coding?: Array<{ display?: unknown; code?: unknown }> };
  expression?: unknown;
  location?: unknown;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

export function isOperationOutcome(body: unknown): body is { resourceType: 'OperationOutcome'; issue?: Issue[] } {
  return !!body && typeof body === 'object' && (body as { resourceType?: unknown }).resourceType === 'OperationOutcome';
}

function issueLine(issue: Issue): string | undefined {
  const coding = Array.isArray(issue.details?.coding) ? issue.details.coding[0] : undefined;
  const message = text(issue.diagnostics) ?? text(issue.details?.text) ?? text(coding?.display) ?? text(coding?.code) ?? text(issue.code);
  if (!message) return undefined;
  const where = Array.isArray(issue.expression) ? text(issue.expression[0]) : Array.isArray(issue.location) ? text(issue.location[0]) : undefined;
  return where && !message.includes(where) ? `${where}: ${message}` : message;
}

const SEVERE = new Set(['fatal', 'error']);

/** The errors of an OperationOutcome (warnings only when there is nothing worse), joined. */
export function summarizeOperationOutcome(body: unknown): string | undefined {
  if (!isOperationOutcome(body) || !Array.isArray(body.issue)) return undefined;
  const severe = body.issue.filter((issue) => SEVERE.has(String(issue?.severity)));
  const lines = (severe.length ? severe : body.issue).map(issueLine).filter((line): line is string => !!line);
  return lines.length ? [...new Set(lines)].join('; ') : undefined;
}

/** For HttpClient's summarizeError hook: the OperationOutcome, else the generic shapes. */
export function summarizeFhirError(_status: number, body: unknown): string | undefined {
  return summarizeOperationOutcome(body) ?? defaultErrorSummary(body);
}

/**
 * Some servers answer a write with 2xx and an OperationOutcome that reports an error (HTTP 200
 * hiding errors is a known pain of the field). Such an answer is a failure, not a result.
 */
export function assertNoErrorOutcome(body: unknown, status: number, request: { method: string; url: string }): void {
  if (!isOperationOutcome(body) || !Array.isArray(body.issue)) return;
  if (!body.issue.some((issue) => SEVERE.has(String(issue?.severity)))) return;
  const summary = summarizeOperationOutcome(body) ?? 'the server reported an error';
  throw new IntegrationError(`fhir ${request.method} ${request.url} returned HTTP ${status} with an error: ${summary}`, {
    code: 'remote-error',
    retryable: false,
    status,
    system: 'fhir',
    request,
    remote: { summary, details: body },
  });
}
