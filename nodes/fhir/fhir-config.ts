/**
 * chis-fhir-config: one FHIR R4 server (HAPI, OpenSRP, OpenMRS fhir2...). Holds the connection
 * settings and credentials, builds one FhirClient on first use (closed on redeploy), serves the
 * editor's look-ups, and registers FHIR's rollback and transaction steps.
 */
import type { Node, NodeAPI } from 'node-red';
import { badInput } from '../core/errors';
import { HttpClient } from '../core/http-client';
import { registerCompensator } from '../core/journal';
import { registerLookups } from '../core/lookups';
import { registerNodeType } from '../core/node-kit';
import { registerOperation } from '../core/operations';
import { type ConnectionDef, connectionOptions, lazyResource } from '../core/server-config';
import { registerTargetSchema } from '../core/target-schemas';
import { type FhirAuthType, type FhirCredentials, FhirClient, fhirHttpOptions } from './api/client';
import { conditionalCreate, fillCriteria, undoEntry, updateResource } from './api/writer';
import { REFERRAL_SCHEMA } from './api/task';

export const FHIR_CONFIG_TYPE = 'chis-fhir-config';

export interface FhirConfigDef extends ConnectionDef {
  authType?: FhirAuthType;
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
  fhirVersion?: 'R4';
}

export interface FhirConfigNode extends Node<FhirCredentials> {
  /** The client, created on first use with the deployed credentials. */
  api(): FhirClient;
}

const AUTH_TYPES: FhirAuthType[] = ['none', 'bearer', 'basic', 'oauth2'];

const RESOURCE_INPUT = { type: 'object', required: ['resourceType'], properties: { resourceType: { type: 'string', minLength: 1 } } };

let shared = false;

/** Rollback of FHIR journal entries and the FHIR steps of a transaction node; once per runtime. */
function registerShared(): void {
  if (shared) return;
  shared = true;
  registerCompensator('fhir', {
    undo: (config, entry, signal) => undoEntry((config as FhirConfigNode).api(), entry, signal),
  });
  // A transaction may re-run the step that was in flight at a crash: creates are conditional on a
  // tag carrying the step's idempotency key, so the re-run finds the resource instead of doubling it.
  registerOperation('fhir.create', {
    title: 'FHIR: create a resource',
    configType: FHIR_CONFIG_TYPE,
    inputSchema: RESOURCE_INPUT,
    run: async (config, input: Record<string, any>, context) => {
      const tag = { system: 'urn:chis-interop:idempotency-key', code: context.idempotencyKey };
      const resource = { ...input, meta: { ...input.meta, tag: [...(input.meta?.tag ?? []), tag] } };
      const result = await conditionalCreate((config as FhirConfigNode).api(), resource, { configId: config.id, signal: context.signal }, `_tag=${encodeURIComponent(tag.system)}|${encodeURIComponent(tag.code)}`);
      context.journal.push(...result.journal);
      return result.payload;
    },
  });
  registerOperation('fhir.conditional-create', {
    title: 'FHIR: create unless a search finds it',
    configType: FHIR_CONFIG_TYPE,
    inputSchema: { type: 'object', required: ['resource', 'ifNoneExist'], properties: { resource: RESOURCE_INPUT, ifNoneExist: { type: 'string', minLength: 1 } } },
    run: async (config, input: { resource: Record<string, any>; ifNoneExist: string }, context) => {
      const criteria = fillCriteria(input.ifNoneExist, input.resource as never);
      const result = await conditionalCreate((config as FhirConfigNode).api(), input.resource, { configId: config.id, signal: context.signal }, criteria);
      context.journal.push(...result.journal);
      return result.payload;
    },
  });
  registerOperation('fhir.update', {
    title: 'FHIR: update a resource (version-aware)',
    configType: FHIR_CONFIG_TYPE,
    inputSchema: { ...RESOURCE_INPUT, required: ['resourceType', 'id'] },
    run: async (config, input, context) => {
      const result = await updateResource((config as FhirConfigNode).api(), input, { configId: config.id, signal: context.signal });
      context.journal.push(...result.journal);
      return result.payload;
    },
  });
  registerTargetSchema('fhir.referral-task', { title: 'FHIR referral Task (chis-fhir-task create)', schema: REFERRAL_SCHEMA as object });
  registerTargetSchema('fhir.resource', { title: 'FHIR R4 resource (chis-fhir-writer)', schema: RESOURCE_INPUT });
}

export default function register(RED: NodeAPI): void {
  registerShared();

  function FhirConfig(this: FhirConfigNode, def: FhirConfigDef): void {
    RED.nodes.createNode(this, def);
    const authType: FhirAuthType = AUTH_TYPES.includes(def.authType as FhirAuthType) ? (def.authType as FhirAuthType) : 'bearer';
    this.api = lazyResource(
      this,
      () => {
        if (!def.baseUrl) throw badInput('the FHIR server has no base URL', 'baseUrl');
        if (def.fhirVersion && def.fhirVersion !== 'R4') throw badInput(`FHIR version ${String(def.fhirVersion)} is not supported (R4 only)`, 'fhirVersion');
        const options = fhirHttpOptions(connectionOptions(def, 'fhir'), { type: authType, tokenUrl: def.tokenUrl, clientId: def.clientId, scope: def.scope }, this.credentials ?? {});
        return new FhirClient(new HttpClient(options));
      },
      (client) => client.http.close(),
    );
  }
  registerNodeType(RED, 'chis-fhir-config', FhirConfig, {
    credentials: { token: { type: 'password' }, username: { type: 'text' }, password: { type: 'password' }, clientSecret: { type: 'password' } },
  });

  registerLookups<FhirConfigNode>(RED, FHIR_CONFIG_TYPE, {
    resourceTypes: async (config, query) => {
      const types = await config.api().resourceTypes();
      const q = query.q?.toLowerCase();
      return types.filter((type) => !q || type.toLowerCase().includes(q)).map((type) => ({ value: type, label: type }));
    },
    test: async (config) => {
      const client = config.api();
      const statement = (await client.capabilities()) as { software?: { name?: string; version?: string }; fhirVersion?: string };
      // metadata is public on most servers: a search proves the credentials work too.
      const types = await client.resourceTypes();
      if (types.length) await client.searchBundle(types.includes('Patient') ? 'Patient' : types[0], { _count: 1 });
      const software = [statement.software?.name, statement.software?.version].filter(Boolean).join(' ');
      return [{ value: statement.fhirVersion ?? '', label: `Connected${software ? ` to ${software}` : ''} (FHIR ${statement.fhirVersion ?? 'version unknown'})` }];
    },
  });
}
