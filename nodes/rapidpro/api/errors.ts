/**
 * What RapidPro says when it refuses a request, in one line. The API is Django REST Framework:
 * `{"detail": "..."}` for authentication, throttling and query errors, and field-error objects
 * for invalid bodies, nested per list index or dictionary key:
 * `{"urns": {"0": ["URN is in use by another contact."]}, "non_field_errors": ["..."]}`.
 */
import { defaultErrorSummary } from '../../core/errors';

const MAX_MESSAGES = 10;

/** Flattens DRF field errors to "path: message" lines ("urns[0]: URN is in use by another contact."). */
export function fieldErrorMessages(body: unknown, path = ''): string[] {
  if (typeof body === 'string') return [path ? `${path}: ${body}` : body];
  if (Array.isArray(body)) return body.flatMap((item) => fieldErrorMessages(item, path));
  if (!body || typeof body !== 'object') return [];
  return Object.entries(body as Record<string, unknown>).flatMap(([key, value]) => {
    const child = key === 'non_field_errors' ? path : /^\d+$/.test(key) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    return fieldErrorMessages(value, child);
  });
}

/** The HttpClient `summarizeError` hook for RapidPro. */
export function summarizeRapidproError(_status: number, body: unknown): string | undefined {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === 'string' && record.detail.trim()) return record.detail.trim();
    const messages = fieldErrorMessages(record);
    if (messages.length) return messages.slice(0, MAX_MESSAGES).join('; ') + (messages.length > MAX_MESSAGES ? ` (and ${messages.length - MAX_MESSAGES} more)` : '');
  }
  return defaultErrorSummary(body);
}
