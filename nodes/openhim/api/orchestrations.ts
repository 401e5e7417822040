/**
 * Orchestration recording on the message: every upstream call made while handling a routed
 * OpenHIM request can be noted on the message, and chis-openhim-response sends them all to
 * core, which shows them in the transaction log.
 *
 *   msg.orchestrations   Orchestration[] in core's shape ({name, request, response}); append
 *                        with recordOrchestration().
 *   msg._requestRecords  RequestRecord[] as the shared HttpClient reports them through its
 *                        onRequestComplete hook (already redacted); append with
 *                        recordRequest(). Converted to orchestrations when answering.
 */
import { type Orchestration } from './types';
import { type RecordedRequest, type RequestInput, type ResponseInput, buildOrchestration, normaliseOrchestration, orchestrationFromRequestRecord } from './mediator-response';

export interface OrchestrationCarrier {
  orchestrations?: unknown[];
  _requestRecords?: RecordedRequest[];
}

/** Appends one upstream call to msg.orchestrations and returns it in core's shape. */
export function recordOrchestration(msg: OrchestrationCarrier, name: string, request: RequestInput, response?: ResponseInput, error?: string): Orchestration {
  const orchestration = buildOrchestration(name, request, response, error);
  if (!Array.isArray(msg.orchestrations)) msg.orchestrations = [];
  msg.orchestrations.push(orchestration);
  return orchestration;
}

/** Appends an HttpClient RequestRecord; dated now if it has no startedAt. */
export function recordRequest(msg: OrchestrationCarrier, record: RecordedRequest): void {
  if (!Array.isArray(msg._requestRecords)) msg._requestRecords = [];
  msg._requestRecords.push({ ...record, startedAt: record.startedAt ?? new Date(Date.now() - record.durationMs).toISOString() });
}

/** Everything recorded on the message, in core's shape, oldest first. */
export function collectOrchestrations(msg: OrchestrationCarrier): Orchestration[] {
  const recorded = (Array.isArray(msg.orchestrations) ? msg.orchestrations : []).map(normaliseOrchestration).filter((item): item is Orchestration => item !== undefined);
  const requests = (Array.isArray(msg._requestRecords) ? msg._requestRecords : [])
    .filter((record) => record && typeof record === 'object' && typeof record.url === 'string')
    .map(orchestrationFromRequestRecord);
  return [...recorded, ...requests].sort((a, b) => Date.parse(a.request.timestamp) - Date.parse(b.request.timestamp));
}
