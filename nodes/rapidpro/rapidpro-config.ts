/**
 * chis-rapidpro-config: one RapidPro workspace. Holds the connection settings and the API token,
 * builds one RapidproClient on first use (closed on redeploy), serves the editor's look-ups
 * (flows, groups, fields, connection test), undoes journaled contact writes for rollback and
 * offers the contact upsert as a transaction step.
 */
import type { Node, NodeAPI } from 'node-red';
import { badInput } from '../core/errors';
import { HttpClient } from '../core/http-client';
import { registerCompensator } from '../core/journal';
import { registerLookups } from '../core/lookups';
import { registerNodeType } from '../core/node-kit';
import { registerOperation } from '../core/operations';
import { type ConnectionDef, connectionOptions, lazyResource } from '../core/server-config';
import { DEFAULT_MAX_THROTTLE_WAIT_MS, RapidproClient, rapidproHttpOptions } from './api/client';
import { CONTACT_SCHEMA, type ContactInput, contactJournalEntry, undoContactWrite, upsertContact } from './api/contacts';

export interface RapidproConfigDef extends ConnectionDef {
  /** Longest Retry-After (seconds) to sit out when RapidPro throttles. */
  maxThrottleWaitSec?: number | string;
  /** Country calling code for phone numbers written without one (e.g. "250"). */
  defaultCountryCode?: string;
}

export interface RapidproCredentialFields {
  token?: string;
}

export interface RapidproConfigNode extends Node<RapidproCredentialFields> {
  defaultCountryCode?: string;
  /** The client, created on first use with the deployed credentials. */
  api(): RapidproClient;
}

const matches = (query: string | undefined, ...texts: Array<string | undefined | null>): boolean =>
  !query || texts.some((text) => text?.toLowerCase().includes(query.toLowerCase()));

export default function register(RED: NodeAPI): void {
  function RapidproConfig(this: RapidproConfigNode, def: RapidproConfigDef): void {
    RED.nodes.createNode(this, def);
    this.defaultCountryCode = String(def.defaultCountryCode ?? '').replace(/^\+/, '').trim() || undefined;
    const waitSec = Number(def.maxThrottleWaitSec);
    const maxThrottleWaitMs = Number.isFinite(waitSec) && waitSec > 0 ? waitSec * 1000 : DEFAULT_MAX_THROTTLE_WAIT_MS;
    this.api = lazyResource(
      this,
      () => {
        if (!def.baseUrl) throw badInput('the RapidPro server has no base URL', 'baseUrl');
        if (!this.credentials?.token) throw badInput('the RapidPro server needs an API token', 'credentials');
        const http = new HttpClient(rapidproHttpOptions(connectionOptions(def, 'rapidpro'), this.credentials.token, { maxThrottleWaitMs }));
        return new RapidproClient(http, { maxThrottleWaitMs });
      },
      (client) => client.http.close(),
    );
  }
  registerNodeType(RED, 'chis-rapidpro-config', RapidproConfig, {
    credentials: { token: { type: 'password' } },
  });

  registerCompensator('rapidpro', {
    undo: (config, entry, signal) => undoContactWrite((config as RapidproConfigNode).api(), entry, signal),
  });

  // Upserting by URN is idempotent, as a transaction step must be: a resumed step finds the contact.
  registerOperation('rapidpro.contact.upsert', {
    title: 'RapidPro: update the contact with this URN, or create it',
    configType: 'chis-rapidpro-config',
    inputSchema: CONTACT_SCHEMA,
    run: async (config, input: ContactInput, context) => {
      const server = config as RapidproConfigNode;
      const result = await upsertContact(server.api(), input, { defaultCountryCode: server.defaultCountryCode, signal: context.signal });
      context.journal.push(contactJournalEntry(result, server.id));
      return result.contact;
    },
  });

  registerLookups<RapidproConfigNode>(RED, 'chis-rapidpro-config', {
    flows: async (config, query) =>
      (await config.api().flows()).filter((flow) => matches(query.q, flow.name, flow.uuid)).map((flow) => ({ value: flow.uuid, label: flow.name, detail: { results: flow.results?.map((result) => result.key) ?? [] } })),
    groups: async (config, query) =>
      (await config.api().groups({ refresh: true }))
        .filter((group) => matches(query.q, group.name, group.uuid))
        .map((group) => ({ value: group.name, label: `${group.name}${group.query ? ' (smart group)' : ''}`, detail: { uuid: group.uuid, smart: !!group.query } })),
    fields: async (config, query) =>
      (await config.api().fields({ refresh: true }))
        .filter((field) => matches(query.q, field.key, field.name))
        .map((field) => ({ value: field.key, label: `${field.name} (${field.key}, ${field.type ?? field.value_type ?? 'text'})` })),
    test: async (config) => {
      const client = config.api();
      const [flows, groups] = await Promise.all([client.flows(), client.groups({ refresh: true })]);
      return [{ value: 'ok', label: `Connected: ${flows.length} flows, ${groups.length} groups` }];
    },
  });
}
