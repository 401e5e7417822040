/**
 * The CHT api: a typed client (CHT API and the medic CouchDB), error summaries, `_rev`-safe
 * updates, the changes follower, lineage hydration, outbound-push payload versions, the
 * writers' input schemas and writes with their compensations. Knows nothing of Node-RED.
 */
export * from './types';
export * from './errors';
export * from './client';
export * from './doc-update';
export * from './lineage';
export * from './loop-marker';
export * from './changes';
export * from './outbound';
export * from './schemas';
export * from './writes';
export * from './contact-lookup';
