/** The RapidPro writers' input contracts, offered to the mapper as target schemas. */
import { registerTargetSchema } from '../../core/target-schemas';
import { CONTACT_SCHEMA } from './contacts';
import { FLOW_START_SCHEMA } from './flow-starts';

let registered = false;

export function registerRapidproSchemas(): void {
  if (registered) return;
  registerTargetSchema('rapidpro.contact', { title: CONTACT_SCHEMA.title, schema: CONTACT_SCHEMA });
  registerTargetSchema('rapidpro.flow-start', { title: FLOW_START_SCHEMA.title, schema: FLOW_START_SCHEMA });
  registered = true;
}
