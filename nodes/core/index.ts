/**
 * The package's public TypeScript API for teams that write their own nodes on the shared layer:
 * the HTTP client, errors, redaction, input contracts, node conventions, receivers and receipts,
 * checkpoints and editor look-ups.
 */
export * from './errors';
export * from './redact';
export * from './retry';
export * from './limiter';
export * from './auth';
export * from './http-client';
export * from './schema';
export * from './node-kit';
export * from './server-config';
export * from './lookups';
export * from './checkpoint';
export * from './seen-ids';
export * from './receipts';
export * from './receiver-auth';
export { registerReceiver, parseBody, formatOf, type BodyFormat, type ReceivedRequest, type ReceiverAnswer, type ReceiverOptions } from './receiver';
export { ReceiverEndpoint, type Classified, type ReceiverEndpointOptions } from './receiver-endpoint';
export * from './mapping';
export * from './target-schemas';
export * from './journal';
export * from './operations';
export * from './attention';
export { runSaga, SagaStore, type StepDefinition, type SagaState, type SagaOutcome } from './saga';
export * from './request-context';
export * from './migrate';
export * from './writer-kit';
export * from './outbox';
export * from './circuit-breaker';
export { registerOutboxAdmin, claimQueue, OUTBOX_DATABASE } from './outbox-admin';
export { RequestLog, ensureRequestLog, closeRequestLog, currentRequestLog, requestLogSettings, parseStatusFilter, DEFAULT_REQUEST_LOG_SETTINGS, REQUEST_LOG_DATABASE, type RequestLogEntry, type RequestLogInput, type RequestLogOptions, type RequestLogQuery, type RequestLogSettings } from './request-log';
