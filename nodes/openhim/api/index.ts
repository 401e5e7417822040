/**
 * The OpenHIM api: a typed core API client (basic or legacy token auth), mediator
 * registration and heartbeat session, and the application/json+openhim response builder with
 * orchestration recording. Knows nothing of Node-RED.
 */
export * from './types';
export * from './legacy-auth';
export * from './client';
export * from './registration';
export * from './mediator-response';
export * from './orchestrations';
export * from './mediator-session';
