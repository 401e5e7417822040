/**
 * chis-commcare-config: one CommCare HQ project space. Holds the connection settings and the
 * API key, builds one CommcareClient on first use (closed on redeploy), serves the editor's
 * look-ups, undoes journaled case writes for rollback and registers the case update step of
 * transaction nodes.
 */
import type { Node, NodeAPI } from 'node-red';
import { badInput } from '../core/errors';
import { HttpClient } from '../core/http-client';
import { registerCompensator } from '../core/journal';
import { type LookupOption, registerLookups } from '../core/lookups';
import { registerNodeType } from '../core/node-kit';
import { registerOperation } from '../core/operations';
import { type ConnectionDef, connectionOptions, lazyResource } from '../core/server-config';
import { CommcareClient, commcareHttpOptions, displayName } from './api/client';
import { undoCaseWrite } from './api/case-writer';
import { CASE_UPDATE_SCHEMA, updateCaseStep } from './api/operations';

export interface CommcareConfigDef extends ConnectionDef {
  domain: string;
}

export interface CommcareCredentialFields {
  username?: string;
  apiKey?: string;
}

export interface CommcareConfigNode extends Node<CommcareCredentialFields> {
  domain: string;
  /** The client, created on first use with the deployed credentials. */
  api(): CommcareClient;
}

const matches = (query: string | undefined, ...texts: Array<string | undefined>): boolean =>
  !query || texts.some((text) => text?.toLowerCase().includes(query.toLowerCase()));

export default function register(RED: NodeAPI): void {
  function CommcareConfig(this: CommcareConfigNode, def: CommcareConfigDef): void {
    RED.nodes.createNode(this, def);
    this.domain = String(def.domain ?? '').trim();
    this.api = lazyResource(
      this,
      () => {
        if (!def.baseUrl) throw badInput('the CommCare server has no base URL', 'baseUrl');
        if (!this.credentials?.username || !this.credentials.apiKey) throw badInput('the CommCare server needs a username and an API key', 'credentials');
        return new CommcareClient(new HttpClient(commcareHttpOptions(connectionOptions(def, 'commcare'), this.credentials)), this.domain);
      },
      (client) => client.http.close(),
    );
  }
  registerNodeType(RED, 'chis-commcare-config', CommcareConfig, {
    credentials: { username: { type: 'text' }, apiKey: { type: 'password' } },
  });

  registerCompensator('commcare', {
    undo: (config, entry, signal) => undoCaseWrite((config as CommcareConfigNode).api(), entry, signal),
  });
  registerOperation('commcare.case.update', {
    title: 'CommCare: update an existing case',
    configType: 'chis-commcare-config',
    inputSchema: CASE_UPDATE_SCHEMA,
    run: (config, input, context) => updateCaseStep(config as CommcareConfigNode, input, context),
  });

  registerLookups<CommcareConfigNode>(RED, 'chis-commcare-config', {
    casetypes: async (config, query) =>
      (await config.api().listCaseTypes()).filter((type) => matches(query.q, type)).map((type) => ({ value: type, label: type })),
    owners: async (config, query) => {
      const client = config.api();
      const [locations, workers, groups] = await Promise.all([client.listLocations(), client.listMobileWorkers(), client.listGroups()]);
      const options: LookupOption[] = [
        ...locations.map((location) => ({ value: location.location_id, label: `${location.name} (location${location.location_type_name ? `: ${location.location_type_name}` : ''})` })),
        ...workers.map((worker) => ({ value: worker.id, label: `${[worker.first_name, worker.last_name].filter(Boolean).join(' ') || worker.username} (mobile worker)` })),
        ...groups.filter((group) => group.case_sharing).map((group) => ({ value: group.id, label: `${group.name} (case-sharing group)` })),
      ];
      return options.filter((option) => matches(query.q, option.label, option.value));
    },
    applications: async (config, query) =>
      (await config.api().listApplications()).filter((app) => matches(query.q, app.name, app.id)).map((app) => ({ value: app.id, label: app.name })),
    forms: async (config, query) => {
      const options: LookupOption[] = [];
      for (const app of await config.api().listApplications()) {
        if (query.app && app.id !== query.app) continue;
        for (const module of app.modules ?? []) {
          for (const form of module.forms ?? []) {
            const label = `${app.name} › ${displayName(module.name)} › ${displayName(form.name, form.xmlns)}`;
            if (matches(query.q, label, form.xmlns)) options.push({ value: form.xmlns, label, detail: { appId: app.id, caseType: module.case_type } });
          }
        }
      }
      return options;
    },
    test: async (config) => {
      const client = config.api();
      const page = await client.listCasesPage({ filters: { limit: 1 } });
      return [{ value: client.domain, label: `Connected to project space "${client.domain}" (${page.matching_records ?? 0} cases)` }];
    },
  });
}
