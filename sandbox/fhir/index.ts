/**
 * Generic FHIR R4 server simulator (HAPI-like), as OpenSRP and OpenMRS-FHIR integrations use it:
 * versioned CRUD, conditional operations, search with paging, history, transaction/batch
 * Bundles, bearer auth with an OAuth2 client-credentials token endpoint.
 */
import { SandboxApp } from '../core';
import { TokenIssuer } from './auth';
import { Interactions } from './interactions';
import { fhirRoutes, FHIR_BASE } from './routes';
import { fhirResponse, operationOutcome } from './outcome';
import { TOKEN_PATH, seedResources } from './seed';
import { FhirStore } from './store';

export * from './seed';

export const DEFAULT_PORT = 8087;
export const BASE_PATH = FHIR_BASE;

export function create(): SandboxApp {
  const store = new FhirStore();
  const interactions = new Interactions(store);
  const tokens = new TokenIssuer();
  const app = new SandboxApp({
    name: 'fhir',
    auth: tokens.check,
    reset: () => {
      store.clear();
      interactions.clear();
      tokens.reset();
      for (const resource of seedResources()) store.write(resource.resourceType, resource.id!, resource, 'POST');
    },
    errorBody: (status, message) => fhirResponse(status, operationOutcome(message, status === 404 ? 'not-found' : status >= 500 ? 'transient' : 'processing')),
  });
  app.post(TOKEN_PATH, (req) => tokens.token(req), { auth: false });
  // Lets tests make tokens expire quickly: POST /_sandbox/token-ttl {"seconds": 1}.
  app.control('POST', '/_sandbox/token-ttl', (req) => {
    const seconds = Number((req.body as { seconds?: unknown } | undefined)?.seconds);
    if (!Number.isFinite(seconds) || seconds < 0) return { status: 400, body: { error: 'seconds must be a number >= 0' } };
    tokens.ttlSeconds = seconds;
    return { status: 200, body: { seconds } };
  });
  fhirRoutes(app, interactions);
  return app;
}
