/**
 * Config node: how senders authenticate to a receiver. Secrets live only in Node-RED's
 * credential store; flows exported from the editor carry the mode, never the secret.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { registerNodeType } from './node-kit';
import { receiverAuthProblem, type ReceiverAuthMode, type ReceiverAuthSettings, type ReceiverSecrets } from './receiver-auth';

export interface ReceiverAuthConfigDef extends NodeDef, Omit<ReceiverAuthSettings, 'mode'> {
  mode: ReceiverAuthMode;
}

export interface ReceiverAuthConfigNode extends Node<ReceiverSecrets> {
  settings: ReceiverAuthSettings;
  secrets(): ReceiverSecrets;
  /** Why this config refuses everyone or admits anyone (see receiverAuthProblem), for statuses. */
  problem(): string | undefined;
}

export default function register(RED: NodeAPI): void {
  function ReceiverAuthConfig(this: ReceiverAuthConfigNode, def: ReceiverAuthConfigDef): void {
    RED.nodes.createNode(this, def);
    this.settings = {
      mode: def.mode,
      headerName: def.headerName || undefined,
      queryParam: def.queryParam || undefined,
      signatureHeader: def.signatureHeader || undefined,
      algorithm: def.algorithm || 'sha256',
      encoding: def.encoding || 'hex',
      signaturePrefix: def.signaturePrefix || undefined,
    };
    // Read at request time so a credential change applies without restarting receivers.
    this.secrets = () => ({ ...this.credentials });
    this.problem = () => receiverAuthProblem(this.settings, this.secrets());
    const problem = this.problem();
    if (problem) this.warn(problem);
  }
  registerNodeType(RED, 'chis-receiver-auth', ReceiverAuthConfig, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      token: { type: 'password' },
    },
  });
}
