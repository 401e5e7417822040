/**
 * chis-openmrs-config: one OpenMRS server. Holds the connection settings and credentials, builds
 * one OpenmrsClient on first use (closed on redeploy), serves the editor's look-ups, and registers
 * OpenMRS's rollback and transaction steps.
 */
import type { Node, NodeAPI } from 'node-red';
import { badInput } from '../core/errors';
import { HttpClient } from '../core/http-client';
import { registerCompensator } from '../core/journal';
import { type LookupOption, registerLookups } from '../core/lookups';
import { registerNodeType } from '../core/node-kit';
import { registerOperation } from '../core/operations';
import { type ConnectionDef, connectionOptions, lazyResource } from '../core/server-config';
import { type MetadataResource, OpenmrsClient, openmrsHttpOptions } from './api/client';
import { undoOpenmrsEntry } from './api/compensation';
import { ENCOUNTER_STEP_SCHEMA, OBS_STEP_SCHEMA, PATIENT_STEP_SCHEMA, encounterStep, obsStep, patientStep } from './api/operations';
import { resolveTimeZone } from './api/datetime';
import type { Ref } from './api/types';

export type ApiStyle = 'rest' | 'fhir' | 'both';

export interface OpenmrsConfigDef extends ConnectionDef {
  apiStyle?: ApiStyle;
  sessionReuse?: boolean;
  /** IANA zone of the dates OpenMRS users mean; empty = the Node-RED host's zone. */
  timeZone?: string;
}

export interface OpenmrsCredentialFields {
  username?: string;
  password?: string;
}

export interface OpenmrsConfigNode extends Node<OpenmrsCredentialFields> {
  apiStyle: ApiStyle;
  /** The client, created on first use with the deployed credentials. */
  api(): OpenmrsClient;
  /** The integration user's name, to recognise our own changes in audit info. */
  username(): string | undefined;
  /** The configured time zone (validated), for datetimes without an offset. */
  timeZone(): string;
}

const toOptions = (refs: Ref[]): LookupOption[] => refs.map((ref) => ({ value: ref.uuid, label: ref.display ?? ref.name ?? ref.uuid }));

let shared = false;

/** Rollback of OpenMRS journal entries and the OpenMRS steps of a transaction node; once per runtime. */
function registerShared(RED: NodeAPI): void {
  if (shared) return;
  shared = true;
  registerCompensator('openmrs', {
    undo: (config, entry, signal) =>
      undoOpenmrsEntry((config as OpenmrsConfigNode).api(), entry, signal, (voided) => {
        RED.log.warn(`openmrs: purging ${voided.resource} ${voided.id} was refused; it was voided instead`);
      }),
  });
  const server = (config: Node) => config as OpenmrsConfigNode;
  registerOperation('openmrs.patient', {
    title: 'OpenMRS: find the patient by identifier, or create it',
    configType: 'chis-openmrs-config',
    inputSchema: PATIENT_STEP_SCHEMA,
    run: (config, input, context) => patientStep(server(config), input, context),
  });
  registerOperation('openmrs.encounter', {
    title: 'OpenMRS: create an encounter',
    configType: 'chis-openmrs-config',
    inputSchema: ENCOUNTER_STEP_SCHEMA,
    run: (config, input, context) => encounterStep(server(config), input, context),
  });
  registerOperation('openmrs.obs', {
    title: 'OpenMRS: create obs (on an encounter)',
    configType: 'chis-openmrs-config',
    inputSchema: OBS_STEP_SCHEMA,
    run: (config, input, context) => obsStep(server(config), input, context),
  });
}

export default function register(RED: NodeAPI): void {
  registerShared(RED);

  function OpenmrsConfig(this: OpenmrsConfigNode, def: OpenmrsConfigDef): void {
    RED.nodes.createNode(this, def);
    this.apiStyle = def.apiStyle ?? 'rest';
    const sessionReuse = def.sessionReuse !== false;
    this.api = lazyResource(
      this,
      () => {
        if (!def.baseUrl) throw badInput('the OpenMRS server has no base URL', 'baseUrl');
        const http = new HttpClient(openmrsHttpOptions(connectionOptions(def, 'openmrs'), this.credentials ?? {}, sessionReuse));
        return new OpenmrsClient(http, { sessionReuse });
      },
      (client) => client.http.close(),
    );
    this.username = () => this.credentials?.username || undefined;
    this.timeZone = () => resolveTimeZone(def.timeZone);
  }
  registerNodeType(RED, 'chis-openmrs-config', OpenmrsConfig, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });

  const FIRST_CONCEPTS = 50;
  const metadata = (resource: MetadataResource) => async (config: OpenmrsConfigNode, query: { q?: string }) => toOptions(await config.api().listMetadata(resource, query.q));
  registerLookups<OpenmrsConfigNode>(RED, 'chis-openmrs-config', {
    encountertypes: metadata('encountertype'),
    locations: metadata('location'),
    identifiertypes: metadata('patientidentifiertype'),
    attributetypes: metadata('personattributetype'),
    concepts: async (config, query) => {
      // Without a search, the first page of concepts, so the drop-down is not empty when opened.
      const refs = query.q?.trim()
        ? await config.api().listMetadata('concept', query.q)
        : await config.api().listAll<{ uuid: string; display?: string }>('concept', { v: 'default', limit: FIRST_CONCEPTS }, { maxPages: 1 });
      return refs.map((ref) => ({ value: ref.uuid, label: ref.display ?? ref.uuid }));
    },
    answers: async (config, query) => {
      if (!query.concept) return [];
      const concept = await config.api().getConcept(query.concept);
      return concept.answers.map((answer) => ({ value: answer.uuid, label: answer.display, detail: { datatype: concept.datatype } }));
    },
    test: async (config) => {
      const session = await config.api().getSession();
      const user = session.user?.display ?? session.user?.username ?? 'unknown user';
      return [{ value: session.user?.uuid ?? '', label: `Connected as ${user}`, detail: { authenticated: session.authenticated } }];
    },
  });
}
