/**
 * openelis-config and openelis-result-writer: lab results into a (fictional) OpenELIS REST API,
 *   POST   /api/results        {patientId, testCode, value, unit?}  ->  201 {id, ...}
 *   DELETE /api/results/{id}   (the rollback)
 * built on @chis-interop/node-red-chis: its HTTP client (timeouts, retries, redaction), errors,
 * node status, rollback journal and config migrations. See docs/extending.md.
 */
import type { NodeAPI } from 'node-red';
import { type ServerConfigNode, type WriterDef, bearerAuth, defineServerConfig, defineWriter } from '@chis-interop/node-red-chis';

interface LabResult {
  patientId: string;
  testCode: string;
  value: string | number;
  unit?: string;
}

interface ResultWriterDef extends WriterDef {
  /** Where results are posted, relative to the server's base URL. */
  resource: string;
}

type OpenelisServer = ServerConfigNode<{ token?: string }>;

const RESULT_SCHEMA = {
  type: 'object',
  required: ['patientId', 'testCode', 'value'],
  properties: {
    patientId: { type: 'string', minLength: 1 },
    testCode: { type: 'string', minLength: 1 },
    value: { type: ['string', 'number'] },
    unit: { type: 'string' },
  },
};

export = function register(RED: NodeAPI): void {
  defineServerConfig<{ token?: string }>(RED, {
    type: 'openelis-config',
    system: 'openelis',
    credentials: { token: { type: 'password' } },
    auth: (credentials) => (credentials.token ? bearerAuth(credentials.token) : undefined),
  });

  defineWriter<LabResult, ResultWriterDef, OpenelisServer>(RED, {
    type: 'openelis-result-writer',
    inputSchema: RESULT_SCHEMA,
    statusVerb: 'written',
    // Version 1.0 of this node called the resource "endpoint"; flows saved then still work.
    migrations: [{ to: 1, why: '"endpoint" renamed to "resource"', rename: { endpoint: 'resource' }, defaults: { resource: 'api/results' } }],
    async write({ input, def, http, signal, journal }) {
      const response = await http.post<{ id: string }>(def.resource || 'api/results', { body: input, signal, idempotent: false });
      journal({ resource: 'result', id: response.data.id, action: 'created' });
      return response.data;
    },
    async undo(server, entry, signal) {
      const response = await server.http().delete(`api/results/${encodeURIComponent(entry.id)}`, { signal, acceptStatus: [404] });
      return response.status === 404 ? 'already-gone' : 'undone';
    },
  });
};
