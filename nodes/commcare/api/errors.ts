/**
 * What CommCare HQ says when it refuses a request, in one line. The Case API answers
 * `{error}` (plus `form_id` when the generated form failed to process), tastypie APIs
 * `{error_message}` or `{error}`, the receiver an OpenRosaResponse, and Django error pages HTML.
 */
import { defaultErrorSummary } from '../../core/errors';

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

/** The message of an OpenRosaResponse (`<message nature="submit_error">…</message>`). */
export function openRosaMessage(body: string): { nature?: string; message: string } | undefined {
  const match = /<message(?:\s+nature="([^"]*)")?\s*>([\s\S]*?)<\/message>/i.exec(body);
  if (!match || !/OpenRosaResponse/i.test(body)) return undefined;
  const message = match[2].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&').trim();
  return { nature: match[1], message };
}

/** The HttpClient `summarizeError` hook for CommCare HQ. */
export function summarizeCommcareError(_status: number, body: unknown): string | undefined {
  if (typeof body === 'string') return openRosaMessage(body)?.message ?? defaultErrorSummary(body);
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    const message = text(record.error) ?? text(record.error_message);
    if (message) return text(record.form_id) ? `${message} (form ${record.form_id as string})` : message;
  }
  return defaultErrorSummary(body);
}

/**
 * Splits a bulk Case API refusal ("Error in row 2: …; Error in row 5: …") into per-row messages,
 * keyed by the 0-based position in the request. Empty when the message names no rows.
 */
export function rowErrors(message: string): Map<number, string> {
  const rows = new Map<number, string>();
  const pattern = /Error in row (\d+): ([\s\S]*?)(?=; Error in row \d+: |$)/g;
  for (let match = pattern.exec(message); match; match = pattern.exec(message)) {
    rows.set(Number(match[1]) - 1, match[2].trim());
  }
  return rows;
}
