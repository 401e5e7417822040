/**
 * The CommCare HQ api: a typed client (Case API v2, look-ups), the form JSON helpers, the bulk
 * case writer, the case-change poller and the loop-marker constants. Knows nothing of Node-RED.
 */
export * from './types';
export * from './errors';
export * from './client';
export * from './forms';
export * from './loop-marker';
export * from './case-input';
export * from './case-writer';
export * from './case-changes';
export * from './form-intake';
