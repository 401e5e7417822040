/**
 * OpenMRS simulator: REST web services, FHIR2 R4, the atomfeed module's patient and encounter
 * feeds and reporting REST, all over one in-memory store. Auth is HTTP Basic (admin/Admin123) or
 * the JSESSIONID cookie from GET /openmrs/ws/rest/v1/session.
 */
import { SandboxApp } from '../core';
import { AtomFeeds, type FeedName } from './atomfeed';
import { Sessions } from './auth';
import { FhirView } from './fhir';
import { REST_PATH } from './representation';
import { RestContext, restRoutes } from './rest';
import { seedOpenmrs } from './seed';
import { OpenmrsService } from './service';
import { OpenmrsStore } from './store';

export * from './seed';
export { CHUNK_SIZE } from './atomfeed';
export { FHIR_PATH } from './fhir';

export const DEFAULT_PORT = 8081;
export const BASE_PATH = REST_PATH;

export function create(): SandboxApp {
  const store = new OpenmrsStore();
  const feeds = new AtomFeeds();
  const service = new OpenmrsService(store, feeds);
  const sessions = new Sessions();
  const fhir = new FhirView(service);
  const app = new SandboxApp({
    name: 'openmrs',
    auth: sessions.check,
    reset: () => {
      store.clear();
      feeds.clear();
      sessions.clear();
      fhir.clear();
      seedOpenmrs(service);
    },
  });
  restRoutes(app, new RestContext(service, sessions));
  fhir.routes(app);
  for (const feed of ['patient', 'encounter'] as FeedName[]) {
    app.get(`/openmrs/ws/atomfeed/${feed}/:page`, (req) => feeds.render(feed, req.params.page, req.origin));
  }
  return app;
}
