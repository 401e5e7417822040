/**
 * CHT API routes on top of the medic database: records, people, places, person/place/report
 * reads and contacts-by-phone, answering with CHT's bodies and error formats.
 */
import type { SandboxApp, SandboxRequest, SandboxResponse } from '../core';
import type { CouchServer } from './couch';
import { isPerson, isPlace, type Contacts } from './contacts';
import { errorResponse, toErrorResponse } from './errors';
import { attachContact, recordFromJson, recordFromSms } from './records';
import { CHT_VERSION, type JsonForm } from './seed';

type Json = Record<string, unknown>;

export interface ApiContext {
  couch: CouchServer;
  contacts: Contacts;
  forms: Map<string, JsonForm>;
}

function guarded(handler: (req: SandboxRequest) => Promise<SandboxResponse>): (req: SandboxRequest) => Promise<SandboxResponse> {
  return async (req) => {
    try {
      return await handler(req);
    } catch (error) {
      return toErrorResponse(req, error);
    }
  };
}

const isEmptyBody = (body: unknown): boolean => !body || typeof body !== 'object' || Object.keys(body).length === 0;

const EMPTY_BODY = 'Request body is empty or Content-Type header was not set to application/json.';

export function registerApiRoutes(app: SandboxApp, context: ApiContext): void {
  const { couch, contacts } = context;
  const forms = (): Record<string, JsonForm> => Object.fromEntries(context.forms);

  // The webapp's index for browsers; CouchDB's welcome for JSON clients (CHT proxies those).
  app.get('/', (req) => {
    if (req.headers.accept === 'application/json') {
      return { status: 200, body: { couchdb: 'Welcome', version: '3.4.2', vendor: { name: 'The Apache Software Foundation' }, features: ['access-ready', 'partitioned', 'pluggable-storage-engines', 'reshard', 'scheduler'] } };
    }
    return { status: 200, body: '<!DOCTYPE html><html><head><title>CHT sandbox</title></head><body>CHT sandbox</body></html>', contentType: 'text/html; charset=utf-8' };
  }, { auth: false });

  app.get('/api/info', () => ({ status: 200, body: { version: CHT_VERSION } }), { auth: false });

  const createRecord = guarded(async (req) => {
    const contentType = String(req.headers['content-type'] ?? '');
    let record: Json;
    if (/x-www-form-urlencoded/i.test(contentType)) record = recordFromSms(req.body, forms());
    else if (/json/i.test(contentType)) record = recordFromJson(req.body, forms());
    else throw new Error('Content type not supported.');
    const doc = await attachContact(record, contacts, forms());
    const result = await couch.db.post(doc);
    return { status: 200, body: { success: true, id: result.id } };
  });
  app.post('/api/v2/records', createRecord);
  app.post('/api/v1/records', createRecord);

  app.post('/api/v1/people', guarded(async (req) => {
    if (isEmptyBody(req.body) || Array.isArray(req.body)) return errorResponse(req, 400, EMPTY_BODY);
    return { status: 200, body: await contacts.createPerson(req.body as Json) };
  }));

  app.post('/api/v1/places', guarded(async (req) => {
    if (isEmptyBody(req.body) || Array.isArray(req.body)) return errorResponse(req, 400, EMPTY_BODY);
    return { status: 200, body: await contacts.createPlaces({ ...(req.body as Json) }) };
  }));

  // Contact uuids by freetext ("key:value" is an exact field match, a word a prefix) and/or type, paged by cursor.
  app.get('/api/v1/contact/uuid', guarded(async (req) => {
    const freetext = req.query.get('freetext')?.trim().toLowerCase();
    const type = req.query.get('type')?.trim();
    const limit = Number(req.query.get('limit') ?? 10000);
    const skip = Number(req.query.get('cursor') ?? 0);
    if (!freetext && !type) return errorResponse(req, 400, 'Either "freetext" or "type" is required');
    if (freetext !== undefined && (freetext.length < 3 || /\s/.test(freetext))) return errorResponse(req, 400, `Invalid freetext [${freetext}].`);
    if (!Number.isInteger(limit) || limit < 1) return errorResponse(req, 400, `The limit must be a positive number: [${req.query.get('limit')}].`);
    if (!Number.isInteger(skip) || skip < 0) return errorResponse(req, 400, `Invalid cursor token: [${req.query.get('cursor')}].`);
    let rows;
    if (freetext) {
      const exact = freetext.includes(':');
      ({ rows } = await couch.db.query('medic-client/contacts_by_freetext', exact ? { key: [freetext] } : { startkey: [freetext], endkey: [`${freetext}\ufff0`] }));
      if (type) rows = rows.filter((row) => row.value === type);
    } else {
      ({ rows } = await couch.db.query('medic-client/contacts_by_type', { key: [type] }));
    }
    const ids = [...new Set(rows.map((row) => row.id))];
    const page = ids.slice(skip, skip + limit);
    return { status: 200, body: { data: page, cursor: skip + limit < ids.length ? String(skip + limit) : null } };
  }));

  app.get('/api/v1/contact/:uuid', guarded(async (req) => {
    const doc = await contacts.getDoc(req.params.uuid);
    if (!doc || !(isPerson(doc) || isPlace(doc))) return errorResponse(req, 404, 'Contact not found');
    return { status: 200, body: req.query.get('with_lineage') === 'true' ? await contacts.withLineage(doc) : doc };
  }));

  app.get('/api/v1/person/:uuid', guarded(async (req) => {
    const withLineage = req.query.get('with_lineage') === 'true';
    const doc = await contacts.getDoc(req.params.uuid);
    if (!doc || !isPerson(doc)) return errorResponse(req, 404, 'Person not found');
    return { status: 200, body: withLineage ? await contacts.withLineage(doc) : doc };
  }));

  app.get('/api/v1/place/:uuid', guarded(async (req) => {
    const withLineage = req.query.get('with_lineage') === 'true';
    const doc = await contacts.getDoc(req.params.uuid);
    if (!doc || !isPlace(doc)) return errorResponse(req, 404, 'Place not found');
    if (!withLineage) return { status: 200, body: doc };
    const hydrated = await contacts.withLineage(doc);
    const contactId = typeof doc.contact === 'string' ? doc.contact : (doc.contact as Json | undefined)?._id;
    const contact = contactId ? await contacts.getDoc(String(contactId)) : undefined;
    return { status: 200, body: contact ? { ...hydrated, contact: await contacts.withLineage(contact) } : hydrated };
  }));

  app.get('/api/v1/report/:uuid', guarded(async (req) => {
    const doc = await contacts.getDoc(req.params.uuid);
    if (!doc || doc.type !== 'data_record') return errorResponse(req, 404, 'Report not found');
    return { status: 200, body: req.query.get('with_lineage') === 'true' ? await contacts.hydrate(doc) : doc };
  }));

  const contactsByPhone = guarded(async (req) => {
    const phone = req.query.get('phone') ?? (req.body && typeof req.body === 'object' ? (req.body as Json).phone : undefined);
    const normalized = typeof phone === 'string' ? phone.replace(/[\s()-]/g, '') : '';
    if (!/^\+?\d{6,15}$/.test(normalized)) {
      return { status: 400, body: { error: 'bad_request', reason: '`phone` parameter is required and must be a valid phone number' } };
    }
    const ids = await contacts.findIdsByPhone(normalized);
    if (ids.length === 0) return { status: 404, body: { error: 'not_found', reason: 'no matches found' } };
    const docs = [];
    for (const id of ids) {
      const doc = await contacts.getDoc(id);
      if (doc) docs.push(await contacts.hydrate(doc));
    }
    return { status: 200, body: { ok: true, docs } };
  });
  app.get('/api/v1/contacts-by-phone', contactsByPhone);
  app.post('/api/v1/contacts-by-phone', contactsByPhone);

  app.get('/api/deploy-info', () => ({ status: 200, body: { version: CHT_VERSION } }));
}
