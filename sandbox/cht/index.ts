/**
 * CHT (Community Health Toolkit) sandbox: the CHT API under /api and the medic CouchDB database
 * under /medic (express-pouchdb over in-memory PouchDB), a sentinel that assigns shortcodes and
 * runs outbound pushes, basic auth medic/password.
 */
import { SandboxApp, basicCredentials, type ClientConfig, type SandboxRequest } from '../core';
import { registerApiRoutes } from './api';
import { Contacts } from './contacts';
import { CouchServer, DB_NAME } from './couch';
import { unauthorized } from './errors';
import { OUTBOUND_CLIENT_NAMES, OutboundPusher, parseOutboundConfig } from './outbound';
import { JSON_FORMS, PASSWORD, USERNAME, seedDocs, type JsonForm } from './seed';
import { Sentinel } from './sentinel';

export const DEFAULT_PORT = 8085;
export const BASE_PATH = '/api';

/** Stops the sentinel feed and retry timers with the server, so a closed sandbox holds no handles. */
class ChtSandboxApp extends SandboxApp {
  onClose?: () => Promise<void>;

  override async close(): Promise<void> {
    await super.close();
    await this.onClose?.();
  }
}

function authenticate(req: SandboxRequest) {
  const credentials = basicCredentials(req);
  return credentials?.username === USERNAME && credentials.password === PASSWORD ? undefined : unauthorized(req);
}

export function create(): SandboxApp {
  const couch = new CouchServer();
  const contacts = new Contacts(couch);
  const forms = new Map<string, JsonForm>();
  const pusher = new OutboundPusher(async (id) => {
    const doc = await contacts.getDoc(id);
    return doc ? contacts.hydrate(doc) : undefined;
  });
  const sentinel = new Sentinel(couch, contacts, pusher);

  const app = new ChtSandboxApp({
    name: 'cht',
    auth: authenticate,
    reset: async () => {
      sentinel.stop();
      pusher.reset();
      forms.clear();
      for (const [code, form] of Object.entries(JSON_FORMS)) forms.set(code, form);
      await couch.recreate();
      await couch.db.bulkDocs(seedDocs());
      await sentinel.start();
    },
    onClientConfig: (config: ClientConfig) => {
      if (OUTBOUND_CLIENT_NAMES.includes(config.name)) pusher.configure(parseOutboundConfig(config));
    },
    errorBody: (status, message) => ({ status, body: { code: status, error: message } }),
  });
  app.onClose = async () => {
    sentinel.stop();
    pusher.stop();
    await couch.stop();
  };

  app.mount(`/${DB_NAME}`, couch.handler);
  registerApiRoutes(app, { couch, contacts, forms });

  app.control('GET', '/_sandbox/deliveries', (req) => {
    const push = req.query.get('push');
    const docId = req.query.get('doc_id');
    const outcome = req.query.get('outcome');
    const rows = pusher.deliveries.filter((entry) => (!push || entry.push === push) && (!docId || entry.doc_id === docId) && (!outcome || entry.outcome === outcome));
    return { status: 200, body: rows };
  });
  app.control('DELETE', '/_sandbox/deliveries', () => {
    pusher.deliveries = [];
    return { status: 200, body: { cleared: true } };
  });
  // Adds or replaces JSON forms (app_settings.forms) for POST /api/v2/records until the next reset.
  app.control('POST', '/_sandbox/forms', (req) => {
    const body = req.body as Record<string, JsonForm> | undefined;
    if (!body || typeof body !== 'object') return { status: 400, body: { error: 'expected { CODE: { meta, fields } }' } };
    for (const [code, form] of Object.entries(body)) {
      if (!form || typeof form.fields !== 'object') return { status: 400, body: { error: `form ${code} needs fields` } };
      forms.set(code.toUpperCase(), form);
    }
    return { status: 200, body: { forms: [...forms.keys()] } };
  });
  app.control('GET', '/_sandbox/forms', () => ({ status: 200, body: Object.fromEntries(forms) }));
  // Waits until the sentinel has processed every change so far (shortcodes, outbound attempts).
  app.control('POST', '/_sandbox/sentinel/idle', async () => {
    await sentinel.idle();
    return { status: 200, body: { idle: true } };
  });
  return app;
}
