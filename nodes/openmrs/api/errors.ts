/**
 * What OpenMRS says when it refuses a request, in one line.
 * REST (webservices.rest RestUtil): `{error: {message, code, globalErrors: [{code, message}],
 * fieldErrors: {field: [{code, message}]}}}`; FHIR2: an OperationOutcome with issues.
 */
import { defaultErrorSummary } from '../../core/errors';

interface ErrorEntry {
  message?: unknown;
  code?: unknown;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

/** OpenMRS wraps some messages in brackets ("[Invalid Submission]"). */
const unbracket = (message: string): string => message.replace(/^\[(.*)\]$/s, '$1').trim();

const entryMessage = (entry: unknown): string | undefined => {
  if (typeof entry === 'string') return text(entry);
  const { message, code } = (entry ?? {}) as ErrorEntry;
  return text(message) ?? text(code);
};

export function summarizeRestError(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (!error || typeof error !== 'object') return undefined;
  const { message, globalErrors, fieldErrors } = error as { message?: unknown; globalErrors?: unknown; fieldErrors?: unknown };
  const details: string[] = [];
  if (Array.isArray(globalErrors)) {
    for (const entry of globalErrors) {
      const line = entryMessage(entry);
      if (line) details.push(unbracket(line));
    }
  }
  if (fieldErrors && typeof fieldErrors === 'object') {
    for (const [field, entries] of Object.entries(fieldErrors as Record<string, unknown>)) {
      const lines = (Array.isArray(entries) ? entries : [entries]).map(entryMessage).filter((line): line is string => !!line);
      details.push(`${field}: ${lines.map(unbracket).join(', ') || 'invalid'}`);
    }
  }
  const head = text(message) ? unbracket(text(message) as string) : undefined;
  if (!head && !details.length) return undefined;
  return [head, details.join('; ')].filter(Boolean).join(': ');
}

export function summarizeOperationOutcome(body: unknown): string | undefined {
  const outcome = body as { resourceType?: unknown; issue?: unknown } | undefined;
  if (outcome?.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) return undefined;
  const lines = outcome.issue
    .map((issue: { diagnostics?: unknown; details?: { text?: unknown }; code?: unknown; expression?: unknown }) => {
      const message = text(issue?.diagnostics) ?? text(issue?.details?.text) ?? text(issue?.code);
      const where = Array.isArray(issue?.expression) && typeof issue.expression[0] === 'string' ? `${issue.expression[0]}: ` : '';
      return message && `${where}${message}`;
    })
    .filter((line): line is string => !!line);
  return lines.length ? lines.join('; ') : undefined;
}

/** The HttpClient `summarizeError` hook for an OpenMRS server (REST and FHIR2). */
export function summarizeOpenmrsError(_status: number, body: unknown): string | undefined {
  return summarizeRestError(body) ?? summarizeOperationOutcome(body) ?? defaultErrorSummary(body);
}
