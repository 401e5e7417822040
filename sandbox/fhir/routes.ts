/** The FHIR REST API under /fhir, mapping HTTP to the interactions and back (headers, Prefer). */
import type { SandboxApp, SandboxRequest, SandboxResponse } from '../core';
import { BundleProcessor } from './bundle';
import { capabilityStatement } from './capability';
import { etag, type Interactions, type Result } from './interactions';
import { FhirError, errorResponse, fhirResponse, operationOutcome } from './outcome';

export const FHIR_BASE = '/fhir';

function header(req: SandboxRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Prefer: return=minimal|representation|OperationOutcome, handling=strict|lenient`. */
function prefer(req: SandboxRequest, key: string): string | undefined {
  const match = new RegExp(`(?:^|[;,\\s])${key}=([\\w-]+)`, 'i').exec(header(req, 'prefer') ?? '');
  return match?.[1];
}

function baseUrl(req: SandboxRequest): string {
  return `${req.origin}${FHIR_BASE}`;
}

function guarded(handler: (req: SandboxRequest) => SandboxResponse): (req: SandboxRequest) => SandboxResponse {
  return (req) => {
    try {
      return handler(req);
    } catch (error) {
      if (error instanceof FhirError) return errorResponse(error);
      throw error;
    }
  };
}

/** A write or read result as HTTP: ETag/Last-Modified/Location headers and the Prefer'd body. */
function respond(req: SandboxRequest, result: Result, withLocation = false): SandboxResponse {
  const headers: Record<string, string> = {};
  const version = result.version;
  if (version) {
    headers.ETag = etag(version);
    headers['Last-Modified'] = new Date(version.lastUpdated).toUTCString();
    if (withLocation) headers.Location = `${baseUrl(req)}/${version.type}/${version.id}/_history/${version.versionId}`;
  }
  const body = version?.resource ?? result.body;
  if (req.method === 'GET' || req.method === 'HEAD') return fhirResponse(result.status, body, headers);
  switch (prefer(req, 'return')) {
    case 'minimal':
      return fhirResponse(result.status, undefined, headers);
    case 'OperationOutcome':
      return fhirResponse(result.status, result.body ?? operationOutcome(`${req.method} ${req.path} succeeded`, 'informational', 'information'), headers);
    default:
      return fhirResponse(result.status, result.body ?? body, headers);
  }
}

function searchParams(req: SandboxRequest): URLSearchParams {
  const params = new URLSearchParams(req.query);
  if (req.body && typeof req.body === 'object') {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) params.append(key, String(value));
  }
  return params;
}

export function fhirRoutes(app: SandboxApp, interactions: Interactions): void {
  const bundles = new BundleProcessor(interactions);
  const strict = (req: SandboxRequest): boolean => prefer(req, 'handling') === 'strict';
  const noUndo = (): [] => [];

  app.get(`${FHIR_BASE}/metadata`, (req) => fhirResponse(200, capabilityStatement(baseUrl(req))), { auth: false });

  app.get(FHIR_BASE, guarded((req) => {
    if (req.query.has('_getpages')) return respond(req, interactions.page(baseUrl(req), req.query));
    throw new FhirError(400, 'This is the base URL of FHIR server. Unable to handle this request, as it does not contain a resource type or operation name.');
  }));
  app.post(FHIR_BASE, guarded((req) => fhirResponse(200, bundles.process(req.body, baseUrl(req), prefer(req, 'return') === 'representation'))));
  app.get(`${FHIR_BASE}/_history`, guarded((req) => respond(req, interactions.history(baseUrl(req), req.query))));

  app.get(`${FHIR_BASE}/:type/_history`, guarded((req) => respond(req, interactions.history(baseUrl(req), req.query, req.params.type))));
  app.post(`${FHIR_BASE}/:type/_search`, guarded((req) => respond(req, interactions.search(req.params.type, searchParams(req), baseUrl(req), strict(req)))));
  app.get(`${FHIR_BASE}/:type/:id/_history/:vid`, guarded((req) => respond(req, interactions.vread(req.params.type, req.params.id, req.params.vid))));
  app.get(`${FHIR_BASE}/:type/:id/_history`, guarded((req) => respond(req, interactions.history(baseUrl(req), req.query, req.params.type, req.params.id))));

  app.get(`${FHIR_BASE}/:type/:id`, guarded((req) => {
    const result = interactions.read(req.params.type, req.params.id);
    const ifNoneMatch = header(req, 'if-none-match');
    if (ifNoneMatch && result.version && ifNoneMatch.replace(/^W\//, '') === etag(result.version).replace(/^W\//, '')) {
      return { status: 304, headers: { ETag: etag(result.version) } };
    }
    return respond(req, result);
  }));
  app.put(`${FHIR_BASE}/:type/:id`, guarded((req) =>
    respond(req, interactions.update(req.params.type, req.params.id, req.body, noUndo(), header(req, 'if-match')), true)));
  app.delete(`${FHIR_BASE}/:type/:id`, guarded((req) => {
    const result = interactions.delete(req.params.type, req.params.id, noUndo());
    return fhirResponse(result.status, result.body, result.version ? { ETag: etag(result.version) } : {});
  }));

  app.get(`${FHIR_BASE}/:type`, guarded((req) => respond(req, interactions.search(req.params.type, req.query, baseUrl(req), strict(req)))));
  app.post(`${FHIR_BASE}/:type`, guarded((req) =>
    respond(req, interactions.create(req.params.type, req.body, noUndo(), { ifNoneExist: header(req, 'if-none-exist') }), true)));
  app.put(`${FHIR_BASE}/:type`, guarded((req) => {
    const query = req.query.toString();
    if (!query) throw new FhirError(400, 'Can not update resource, request URL must contain an ID element for update (PUT) operation (it must be of the form [base]/[resource type]/[id])');
    return respond(req, interactions.conditionalUpdate(req.params.type, query, req.body, noUndo(), header(req, 'if-match')), true);
  }));
  app.delete(`${FHIR_BASE}/:type`, guarded((req) => {
    const query = req.query.toString();
    if (!query) throw new FhirError(400, 'Conditional delete needs search criteria: DELETE [base]/[type]?[criteria]');
    const result = interactions.conditionalDelete(req.params.type, query, noUndo());
    return fhirResponse(result.status, result.body, result.version ? { ETag: etag(result.version) } : {});
  }));

  // Anything else under the base still answers in FHIR's error format.
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
    app.route(method, `${FHIR_BASE}/*`, (req) => errorResponse(method === 'PATCH'
      ? new FhirError(405, 'PATCH is not supported by this server')
      : new FhirError(404, `Unknown path or operation: ${req.method} ${req.path}`)));
  }
}
