/**
 * chis-cht-config: one CHT instance. Holds the connection settings and the basic-auth
 * credentials, builds one ChtClient on first use (closed on redeploy), serves the editor's
 * look-ups (forms, contact types, places, connection test) and undoes journaled CHT writes.
 */
import type { Node, NodeAPI } from 'node-red';
import { badInput } from '../core/errors';
import { HttpClient } from '../core/http-client';
import { registerCompensator } from '../core/journal';
import { registerLookups } from '../core/lookups';
import { registerNodeType } from '../core/node-kit';
import { type ConnectionDef, connectionOptions, lazyResource } from '../core/server-config';
import { ChtClient, MEDIC_DB, chtHttpOptions } from './api/client';
import { undoChtWrite } from './api/writes';

export interface ChtCredentialFields {
  username?: string;
  password?: string;
}

export interface ChtConfigNode extends Node<ChtCredentialFields> {
  /** The client, created on first use with the deployed credentials. */
  api(): ChtClient;
}

const matches = (query: string | undefined, ...texts: Array<string | undefined>): boolean =>
  !query || texts.some((text) => text?.toLowerCase().includes(query.toLowerCase()));

export default function register(RED: NodeAPI): void {
  function ChtConfig(this: ChtConfigNode, def: ConnectionDef): void {
    RED.nodes.createNode(this, def);
    this.api = lazyResource(
      this,
      () => {
        if (!def.baseUrl) throw badInput('the CHT server has no base URL', 'baseUrl');
        if (!this.credentials?.username || !this.credentials.password) throw badInput('the CHT server needs a username and a password', 'credentials');
        return new ChtClient(new HttpClient(chtHttpOptions(connectionOptions(def, 'cht'), this.credentials)));
      },
      (client) => client.http.close(),
    );
  }
  registerNodeType(RED, 'chis-cht-config', ChtConfig, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });

  registerCompensator('cht', {
    undo: (config, entry, signal) => undoChtWrite((config as ChtConfigNode).api(), entry, signal),
  });

  registerLookups<ChtConfigNode>(RED, 'chis-cht-config', {
    forms: async (config, query) =>
      (await config.api().formCodes()).filter((form) => matches(query.q, form.code, form.label)).map((form) => ({ value: form.code, label: form.label, detail: { kind: form.kind } })),
    contactTypes: async (config, query) =>
      (await config.api().contactTypes())
        .filter((type) => matches(query.q, type.id) && (query.kind === undefined || (query.kind === 'person') === Boolean(type.person)))
        .map((type) => ({ value: type.id, label: `${type.id}${type.person ? ' (person)' : ''}${type.parents?.length ? ` under ${type.parents.join(' / ')}` : ''}` })),
    places: async (config, query) => {
      const client = config.api();
      const types = (await client.contactTypes()).filter((type) => !type.person).map((type) => type.id);
      const { rows } = (await client.http.get<{ rows: Array<{ id: string; value: unknown; key: unknown[] }> }>(`${MEDIC_DB}/_design/medic-client/_view/contacts_by_type`, {
        query: { keys: JSON.stringify(types.map((type) => [type])) },
      })).data;
      return (rows ?? [])
        .map((row) => ({ value: row.id, label: `${String(row.value ?? row.id)} (${String(row.key?.[0] ?? '')})` }))
        .filter((option) => matches(query.q, option.label, option.value))
        .slice(0, 200);
    },
    test: async (config) => {
      const client = config.api();
      const info = (await client.http.get<{ doc_count?: number; update_seq?: unknown }>(MEDIC_DB)).data;
      const version = (await client.http.get<{ version?: string }>('api/info', { acceptStatus: [404] }).catch(() => undefined))?.data?.version;
      return [{ value: 'ok', label: `Connected${version ? ` to CHT ${version}` : ''}: ${info.doc_count ?? 0} documents in ${MEDIC_DB}` }];
    },
  });
}

