/**
 * chis-openhim-config: one OpenHIM core API (e.g. https://openhim:8080). Basic auth for cores
 * 7.2.1 and later, the legacy token headers for older ones. Builds one OpenhimClient on first
 * use (closed on redeploy) and serves the editor's look-ups (client roles, connection test).
 */
import type { Node, NodeAPI } from 'node-red';
import { badInput } from '../core/errors';
import { registerLookups } from '../core/lookups';
import { registerNodeType } from '../core/node-kit';
import { type ConnectionDef, connectionOptions, lazyResource } from '../core/server-config';
import { OpenhimClient, type OpenhimAuthScheme, type OpenhimCredentials } from './api/client';

export interface OpenhimConfigDef extends ConnectionDef {
  authScheme?: OpenhimAuthScheme;
}

export interface OpenhimConfigNode extends Node<OpenhimCredentials> {
  /** The client, created on first use with the deployed credentials. */
  api(): OpenhimClient;
}

export default function register(RED: NodeAPI): void {
  function OpenhimConfig(this: OpenhimConfigNode, def: OpenhimConfigDef): void {
    RED.nodes.createNode(this, def);
    this.api = lazyResource(
      this,
      () => {
        if (!def.baseUrl) throw badInput('the OpenHIM server has no core API URL', 'baseUrl');
        return OpenhimClient.create(connectionOptions(def, 'openhim'), def.authScheme === 'token' ? 'token' : 'basic', this.credentials ?? {});
      },
      (client) => client.close(),
    );
  }
  registerNodeType(RED, 'chis-openhim-config', OpenhimConfig, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });

  registerLookups<OpenhimConfigNode>(RED, 'chis-openhim-config', {
    // A channel's allow list takes client roles or client ids.
    roles: async (config, query) => {
      const clients = await config.api().listClients();
      const roles = [...new Set(clients.flatMap((client) => client.roles ?? []))].sort();
      const options = [
        ...roles.map((role) => ({ value: role, label: `${role} (role)` })),
        ...clients.filter((client) => client.clientID).map((client) => ({ value: client.clientID!, label: `${client.clientID} (client${client.name ? `: ${client.name}` : ''})` })),
      ];
      const q = query.q?.toLowerCase();
      return q ? options.filter((option) => option.label.toLowerCase().includes(q)) : options;
    },
    test: async (config) => {
      const channels = await config.api().listChannels();
      return [{ value: 'ok', label: `Connected to the OpenHIM core API (${channels.length} channels)` }];
    },
  });
}
