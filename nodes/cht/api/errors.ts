/**
 * What CHT says when it refuses a request, in one line, and which refusals are the caller's
 * fault. CouchDB (under /medic) answers `{error, reason}` ("conflict", "Document update
 * conflict."); the CHT API answers JSON clients with `{code, error, details}` and others with
 * text ("Server error: \"Missing required field: form\""). The records API raises its input
 * errors as PublicErrors without a status, which CHT turns into 500 "Server error": those are
 * bad input, and asking again would only get the same answer.
 */
import { IntegrationError, defaultErrorSummary, isIntegrationError, truncate } from '../../core/errors';

/** The messages cht-core's records API (api/src/controllers/records.js) raises for bad input. */
const BAD_INPUT_MESSAGES = [
  /Missing required (field|value)/i,
  /Missing _meta property/i,
  /Form not found/i,
  /Content type not supported/i,
  /Request body is empty/i,
];

function detailsText(details: unknown): string | undefined {
  if (typeof details === 'string' && details.trim()) return details.trim();
  if (details && typeof details === 'object') {
    const message = (details as Record<string, unknown>).message;
    if (typeof message === 'string' && message.trim()) return message.trim();
    return truncate(JSON.stringify(details), 300);
  }
  return undefined;
}

/** The HttpClient `summarizeError` hook for CHT and its CouchDB. */
export function summarizeChtError(_status: number, body: unknown): string | undefined {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    const error = typeof record.error === 'string' ? record.error.trim() : undefined;
    const details = detailsText(record.details);
    if (error && details) return `${error}: ${details}`;
    const reason = typeof record.reason === 'string' ? record.reason.trim() : undefined;
    if (error && reason) return error === reason ? error : `${error}: ${reason}`;
    if (error) return error;
  }
  return defaultErrorSummary(body);
}

/** True when an error body names one of the records API's bad-input messages. */
export function isKnownBadInput(error: IntegrationError): boolean {
  const texts = [error.remote?.summary, typeof error.remote?.details === 'string' ? error.remote.details : JSON.stringify(error.remote?.details ?? '')];
  return texts.some((text) => typeof text === 'string' && BAD_INPUT_MESSAGES.some((pattern) => pattern.test(text)));
}

/**
 * CHT-specific classification on top of the HTTP status: a 5xx whose body names a known input
 * problem becomes `bad-input` (not retryable). Anything else is returned unchanged.
 */
export function classifyChtError(error: unknown): unknown {
  if (!isIntegrationError(error) || error.code === 'bad-input' || error.status === undefined || error.status < 500) return error;
  if (!isKnownBadInput(error)) return error;
  return new IntegrationError(error.message, {
    code: 'bad-input',
    retryable: false,
    status: error.status,
    system: error.system,
    remote: error.remote,
    request: error.request,
    cause: error,
  });
}
