/**
 * chis-dhis2-config: one DHIS2 server. Holds the connection settings and credentials (Basic or a
 * personal access token), builds one Dhis2Client on first use (closed on redeploy), serves the
 * editor's look-ups and undoes journaled tracker writes for rollback nodes.
 */
import type { Node, NodeAPI } from 'node-red';
import { badInput } from '../core/errors';
import { HttpClient } from '../core/http-client';
import { registerCompensator } from '../core/journal';
import { type LookupOption, registerLookups } from '../core/lookups';
import { registerNodeType } from '../core/node-kit';
import { type ConnectionDef, connectionOptions, lazyResource } from '../core/server-config';
import { type ApiMode, type AuthType, Dhis2Client, type Dhis2Credentials, type MetadataItem, dhis2HttpOptions, escapeFilterValue } from './api/client';
import { undoTrackerEntry } from './api/compensation';
import type { Json } from './api/types';

export interface Dhis2ConfigDef extends ConnectionDef {
  authType?: AuthType;
  apiMode?: ApiMode;
}

export interface Dhis2ConfigNode extends Node<Dhis2Credentials> {
  apiMode: ApiMode;
  /** The client, created on first use with the deployed credentials. */
  api(): Dhis2Client;
}

const toOptions = (items: MetadataItem[]): LookupOption[] => items.map((item) => ({ value: item.id, label: String(item.displayName ?? item.name ?? item.id) }));
const nameFilter = (q: string | undefined): string[] | undefined => (q?.trim() ? [`displayName:ilike:${escapeFilterValue(q.trim())}`] : undefined);
const refs = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((item): item is Json => typeof item === 'object' && item !== null) : []);

export default function register(RED: NodeAPI): void {
  function Dhis2Config(this: Dhis2ConfigNode, def: Dhis2ConfigDef): void {
    RED.nodes.createNode(this, def);
    this.apiMode = def.apiMode === 'legacy' ? 'legacy' : 'tracker';
    const authType: AuthType = def.authType === 'pat' ? 'pat' : 'basic';
    this.api = lazyResource(
      this,
      () => {
        if (!def.baseUrl) throw badInput('the DHIS2 server has no base URL', 'baseUrl');
        return new Dhis2Client(new HttpClient(dhis2HttpOptions(connectionOptions(def, 'dhis2'), authType, this.credentials ?? {})), this.apiMode);
      },
      (client) => client.http.close(),
    );
  }
  registerNodeType(RED, 'chis-dhis2-config', Dhis2Config, {
    credentials: { username: { type: 'text' }, password: { type: 'password' }, token: { type: 'password' } },
  });

  registerCompensator('dhis2', {
    undo: (config, entry, signal) => undoTrackerEntry((config as Dhis2ConfigNode).api(), entry, signal),
  });

  const collection = (resource: string) => async (config: Dhis2ConfigNode, query: { q?: string }) =>
    toOptions(await config.api().listMetadata(resource, { filter: nameFilter(query.q) }));

  registerLookups<Dhis2ConfigNode>(RED, 'chis-dhis2-config', {
    programs: collection('programs'),
    dataElements: collection('dataElements'),
    dataSets: collection('dataSets'),
    trackedEntityTypes: collection('trackedEntityTypes'),
    orgUnits: async (config, query) => {
      const items = await config.api().listMetadata('organisationUnits', { fields: 'id,displayName,path', filter: query.q?.trim() ? [`name:ilike:${escapeFilterValue(query.q.trim())}`] : undefined, pageSize: 50 });
      return items.map((item) => ({ value: item.id, label: String(item.displayName ?? item.id), detail: { path: item.path } }));
    },
    programStages: async (config, query) => {
      if (!query.program) return toOptions(await config.api().listMetadata('programStages', { filter: nameFilter(query.q) }));
      const program = await config.api().getMetadata('programs', query.program, 'programStages[id,displayName]');
      return toOptions(refs(program.programStages) as MetadataItem[]);
    },
    attributes: async (config, query) => {
      if (!query.program) return toOptions(await config.api().listMetadata('trackedEntityAttributes', { fields: 'id,displayName,unique', filter: nameFilter(query.q) }));
      const program = await config.api().getMetadata('programs', query.program, 'programTrackedEntityAttributes[trackedEntityAttribute[id,displayName,unique]]');
      return refs(program.programTrackedEntityAttributes).map((item) => {
        const attribute = (item.trackedEntityAttribute ?? {}) as Json;
        const unique = attribute.unique === true;
        return { value: String(attribute.id), label: `${String(attribute.displayName ?? attribute.id)}${unique ? ' (unique)' : ''}`, detail: { unique } };
      });
    },
    categoryOptionCombos: async (config, query) => {
      const api = config.api();
      if (query.dataElement) {
        const element = await api.getMetadata('dataElements', query.dataElement, 'categoryCombo[categoryOptionCombos[id,displayName]]');
        return toOptions(refs((element.categoryCombo as Json | undefined)?.categoryOptionCombos) as MetadataItem[]);
      }
      if (query.dataSet) {
        const set = await api.getMetadata('dataSets', query.dataSet, 'dataSetElements[dataElement[categoryCombo[categoryOptionCombos[id,displayName]]]]');
        const combos = new Map<string, MetadataItem>();
        for (const element of refs(set.dataSetElements)) {
          const combo = ((element.dataElement as Json | undefined)?.categoryCombo as Json | undefined)?.categoryOptionCombos;
          for (const item of refs(combo) as MetadataItem[]) combos.set(item.id, item);
        }
        return toOptions([...combos.values()]);
      }
      return toOptions(await api.listMetadata('categoryOptionCombos', { filter: nameFilter(query.q) }));
    },
    test: async (config) => {
      const api = config.api();
      const [info, me] = await Promise.all([api.systemInfo(), api.me()]);
      return [{ value: info.version ?? '', label: `Connected to DHIS2 ${info.version ?? '(unknown version)'} as ${me.displayName ?? me.username ?? 'unknown user'}`, detail: { ...info } }];
    },
  });
}
