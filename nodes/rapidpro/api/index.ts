/**
 * The RapidPro api: a typed API v2 client, URN normalisation, error summaries, contact upsert
 * (and its rollback), flow starts, completed-run polling and webhook payload reading. Knows
 * nothing of Node-RED.
 */
export * from './types';
export * from './urns';
export * from './errors';
export * from './client';
export * from './contacts';
export * from './flow-starts';
export * from './runs';
export * from './webhook';
export * from './schemas';
