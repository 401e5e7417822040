/**
 * DHIS2 2.40 simulator: the tracker API (/api/tracker), the legacy tracker API
 * (/api/trackedEntityInstances, /api/events), aggregate data (/api/dataValueSets) and read-only
 * metadata, with Basic and ApiToken auth. See seed.ts for the seeded metadata and demo data.
 */
import { respond } from './web-message';
import { SandboxApp } from '../core';
import { aggregateRoutes } from './aggregate';
import { dhis2Auth } from './auth';
import { legacyRoutes } from './legacy';
import { metadataRoutes } from './metadata-routes';
import { Dhis2Store } from './store';
import { trackerRoutes } from './tracker-routes';

export * from './seed';
export { DHIS2_VERSION } from './metadata-routes';

export const DEFAULT_PORT = 8082;
export const BASE_PATH = '/api';

export function create(): SandboxApp {
  const store = new Dhis2Store();
  const app = new SandboxApp({
    name: 'dhis2',
    auth: dhis2Auth,
    reset: () => store.reset(),
    errorBody: (status, message) => respond(status, 'ERROR', message),
  });
  trackerRoutes(app, store);
  legacyRoutes(app, store);
  aggregateRoutes(app, store);
  metadataRoutes(app, store);
  return app;
}
