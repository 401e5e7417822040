/**
 * The OpenRosa form receiver (/a/<domain>/receiver/[<app_id>/]), after
 * corehq/form_processor/submission_post.py:
 *  - OpenRosa 2.0 (default): processing errors and duplicates answer 201 with nature submit_error;
 *  - OpenRosa 3.0 (X-OpenRosa-Version: 3.0): processing errors answer 422 processing_failure and
 *    duplicates are acknowledged as a success;
 *  - unreadable XML answers 500 submit_error.
 */
import type { SandboxRequest, SandboxResponse } from '../core';
import { xmlToFormBlock } from './form-json';
import type { FormProcessor } from './forms';
import { escapeXml, parseXml, XmlError, type XmlElement } from './xml';

const SUCCESS_MESSAGE = '   √   ';

export function openRosaResponse(status: number, nature: string, message: string, formId?: string): SandboxResponse {
  const headers: Record<string, string> = {};
  if (formId) headers['X-CommCareHQ-FormID'] = formId;
  return {
    status,
    headers,
    contentType: 'text/xml; charset=utf-8',
    body: `<OpenRosaResponse xmlns="http://openrosa.org/http/response">\n    <message nature="${nature}">${escapeXml(message)}</message>\n</OpenRosaResponse>`,
  };
}

/** The XML from a multipart submission (part xml_submission_file) or from a raw body. */
export function submittedXml(req: SandboxRequest): string | undefined {
  const contentType = String(req.headers['content-type'] ?? '');
  const boundary = /multipart\/form-data;.*boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) return req.rawBody.length > 0 ? req.rawBody.toString('utf8') : undefined;
  const parts = splitMultipart(req.rawBody, boundary);
  const part = parts.find((candidate) => /name="xml_submission_file"/i.test(candidate.headers)) ??
    parts.find((candidate) => /content-type:\s*(text|application)\/xml/i.test(candidate.headers));
  return part?.body.toString('utf8');
}

function splitMultipart(body: Buffer, boundary: string): Array<{ headers: string; body: Buffer }> {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ headers: string; body: Buffer }> = [];
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const chunk = body.subarray(start + delimiter.length, next);
    const headerEnd = chunk.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      let content = chunk.subarray(headerEnd + 4);
      if (content.subarray(-2).toString() === '\r\n') content = content.subarray(0, -2);
      parts.push({ headers: chunk.subarray(0, headerEnd).toString('utf8'), body: content });
    }
    start = next;
  }
  return parts;
}

export function receive(processor: FormProcessor, req: SandboxRequest): SandboxResponse {
  const xml = submittedXml(req);
  if (!xml || !xml.trim()) return { status: 400, body: 'Bad request: no XML was submitted', contentType: 'text/plain; charset=utf-8' };
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
    return openRosaResponse(500, 'submit_error', `There was an error processing the form: Invalid XML: ${error.message}`);
  }
  const openRosa3 = String(req.headers['x-openrosa-version'] ?? '') === '3.0';
  const appId = req.params.appId && !['api', 'submission', 'secure'].includes(req.params.appId) ? req.params.appId : null;
  const result = processor.submit({ form: xmlToFormBlock(root), xml, appId });
  switch (result.kind) {
    case 'processed':
      return openRosaResponse(201, 'submit_success', SUCCESS_MESSAGE, result.form.id);
    case 'duplicate':
      return openRosa3
        ? openRosaResponse(201, 'submit_success', SUCCESS_MESSAGE, result.formId)
        : openRosaResponse(201, 'submit_error', result.message, result.formId);
    case 'error':
      return openRosa3
        ? openRosaResponse(422, 'processing_failure', result.message, result.formId)
        : openRosaResponse(201, 'submit_error', result.message, result.formId);
  }
}
