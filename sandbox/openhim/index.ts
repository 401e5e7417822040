/**
 * OpenHIM core simulator: the management API at the root (mediators, channels, clients,
 * transactions) with basic and legacy token auth, plus the router under /router.
 */
import { SandboxApp } from '../core';
import { apiRoutes } from './api';
import { apiAuth } from './auth';
import { mediatorRoutes } from './mediators';
import { routerRoutes } from './router';
import { OpenhimStore } from './store';

export * from './seed';
export { ROUTER_PREFIX, transformPath } from './router';

export const DEFAULT_PORT = 8086;
export const BASE_PATH = '';

export function create(): SandboxApp {
  const store = new OpenhimStore();
  // koa answers its own errors as plain text.
  const app = new SandboxApp({ name: 'openhim', auth: apiAuth(store), reset: () => store.reset(), errorBody: (status, message) => ({ status, body: message }) });
  routerRoutes(app, store);
  apiRoutes(app, store);
  mediatorRoutes(app, store);
  // koa answers unknown API paths (after authentication) with a plain-text 404.
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
    app.route(method, '/*', () => ({ status: 404, body: 'Not Found' }));
  }
  return app;
}
