/**
 * chis-openmrs-patient-read: reads one OpenMRS patient by uuid (also "Patient/<uuid>", as in a
 * FHIR reference) or by identifier, and emits it with its identifiers by type name on the first
 * output, or the message unchanged on the second when OpenMRS has no such patient.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { badInput } from '../core/errors';
import { typedSetting } from '../core/typed-value';
import { ActivityStatus, handleInput, registerNodeType } from '../core/node-kit';
import { type PatientReadBy, readPatient } from './api/patient-read';
import type { OpenmrsConfigNode } from './openmrs-config';

interface PatientReadDef extends NodeDef {
  server: string;
  by?: PatientReadBy;
  value?: string;
  valueType?: string;
  identifierType?: string;
}

type ReadMsg = NodeMessage & { patient?: unknown; patientIdentifiers?: Record<string, string>; correlationId?: string };

export default function register(RED: NodeAPI): void {
  function PatientRead(this: Node, def: PatientReadDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as OpenmrsConfigNode | null;
    if (!server) {
      this.status({ fill: 'red', shape: 'ring', text: 'no OpenMRS server configured' });
      return;
    }
    const status = new ActivityStatus(this, 'read');
    const by: PatientReadBy = def.by === 'identifier' ? 'identifier' : 'uuid';
    const valueType = def.valueType || 'msg';
    const valueExpression = def.value || 'payload';
    const setting = typedSetting(RED, this, 'value', valueExpression, valueType);

    handleInput<ReadMsg>(this, async (msg, send, { signal }) => {
      status.begin();
      try {
        const value = await setting.value(msg);
        if (typeof value !== 'string' && typeof value !== 'number') {
          throw badInput(`the patient ${by} must be text (got ${value === undefined ? 'nothing' : typeof value} from ${valueType}.${valueExpression})`, `${valueType}.${valueExpression}`);
        }
        const found = await readPatient(server.api(), { by, value: String(value), identifierType: def.identifierType, signal });
        status.succeed();
        if (!found) {
          send([null, msg]);
          return;
        }
        msg.patient = found.patient;
        msg.patientIdentifiers = found.identifiers;
        send([msg, null]);
      } catch (error) {
        status.fail(error);
        throw error;
      }
    });
  }
  registerNodeType(RED, 'chis-openmrs-patient-read', PatientRead);
}
