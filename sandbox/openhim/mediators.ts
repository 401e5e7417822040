/**
 * /mediators: registration, heartbeat, config and default channel install, following core's
 * src/api/mediators.js including its plain-text error messages.
 */
import type { SandboxApp, SandboxRequest, SandboxResponse } from '../core';
import { ROOT_EMAIL, ROOT_USER_ID } from './seed';
import { ValidationError, objectId, shapeChannel, shapeMediator, type Doc, type OpenhimStore } from './store';

const SEMVER = /^[v=]?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
const PASSWORD_MASK = '**********';

function compareSemver(a: string, b: string): number {
  const left = SEMVER.exec(a.trim());
  const right = SEMVER.exec(b.trim());
  if (!left || !right) return 0;
  for (let part = 1; part <= 3; part += 1) {
    const difference = Number(left[part]) - Number(right[part]);
    if (difference !== 0) return difference;
  }
  if (left[4] === right[4]) return 0;
  if (!left[4]) return 1; // a release outranks its pre-releases
  if (!right[4]) return -1;
  return left[4] < right[4] ? -1 : 1;
}

function validateConfigDefs(defs: Doc[]): void {
  for (const def of defs) {
    if (def.type === 'struct' && !def.template) throw new ValidationError(`Must specify a template for struct param '${def.param}'`);
    if (def.type === 'struct') {
      for (const item of def.template as Doc[]) {
        if (!item.param) throw new ValidationError(`Must specify field 'param' in template definition for param '${def.param}'`);
        if (!item.type) throw new ValidationError(`Must specify field 'type' in template definition for param '${def.param}'`);
        if (item.type === 'struct') throw new ValidationError(`May not recursively specify 'struct' in template definitions (param '${def.param}')`);
      }
    } else if (def.type === 'option') {
      if (!Array.isArray(def.values)) throw new ValidationError(`Expected field 'values' to be an array (option param '${def.param}')`);
      if (def.values.length === 0) throw new ValidationError(`Must specify a values array for option param '${def.param}'`);
    }
  }
}

function validateField(param: string, def: Doc, field: unknown): void {
  const fail = (message: string): never => { throw new ValidationError(message); };
  switch (def.type) {
    case 'string': if (typeof field !== 'string') fail(`Expected config param ${param} to be a string.`); break;
    case 'bigstring': if (typeof field !== 'string') fail(`Expected config param ${param} to be a large string.`); break;
    case 'number': if (typeof field !== 'number') fail(`Expected config param ${param} to be a number.`); break;
    case 'bool': if (typeof field !== 'boolean') fail(`Expected config param ${param} to be a boolean.`); break;
    case 'option': if (!(def.values as unknown[]).includes(field)) fail(`Expected config param ${param} to be one of ${String(def.values)}`); break;
    case 'password': if (typeof field !== 'string') fail(`Expected config param ${param} to be a string representing a password.`); break;
    case 'map':
      if (typeof field !== 'object') fail(`Expected config param ${param} to be an object.`);
      if (Object.values(field as Doc).some((value) => typeof value !== 'string')) fail(`Expected config param ${param} to only contain string values.`);
      break;
    case 'struct': {
      if (typeof field !== 'object') fail(`Expected config param ${param} to be an object.`);
      const allowed = (def.template as Doc[]).map((item) => item.param);
      for (const key of Object.keys(field as Doc)) {
        if (!allowed.includes(key)) fail(`Field ${key} is not defined in template definition for config param ${param}.`);
      }
      break;
    }
    default: break;
  }
}

function validateConfig(defs: Doc[], config: Doc): void {
  for (const param of Object.keys(config)) {
    const matching = defs.filter((def) => def.param === param);
    if (matching.length === 0) throw new ValidationError(`No config definition found for parameter ${param}`);
    for (const def of matching) {
      if (def.array) {
        if (!Array.isArray(config[param])) throw new ValidationError(`Expected config param ${param} to be an array of type ${def.type}`);
        (config[param] as unknown[]).forEach((field, index) => validateField(`${param}[${index}]`, def, field));
      } else {
        validateField(param, def, config[param]);
      }
    }
  }
}

/** Core masks password-type config values when one mediator is read. */
function maskPasswords(defs: Doc[], config: Doc | undefined): void {
  if (!config) return;
  for (const def of defs) {
    if (def.type === 'password' && config[def.param]) {
      config[def.param] = def.array ? (config[def.param] as unknown[]).map(() => PASSWORD_MASK) : PASSWORD_MASK;
    }
    if (def.type === 'struct' && config[def.param]) maskPasswords(def.template as Doc[], config[def.param] as Doc);
  }
}

function restoreMaskedPasswords(defs: Doc[], masked: Doc | undefined, stored: Doc | undefined): void {
  if (!masked || !stored) return;
  for (const def of defs) {
    if (def.type === 'password' && masked[def.param] && stored[def.param]) {
      if (def.array) {
        (masked[def.param] as unknown[]).forEach((value, index) => {
          if (value === PASSWORD_MASK) (masked[def.param] as unknown[])[index] = (stored[def.param] as unknown[])[index];
        });
      } else if (masked[def.param] === PASSWORD_MASK) {
        masked[def.param] = stored[def.param];
      }
    }
    if (def.type === 'struct') restoreMaskedPasswords(def.template as Doc[], masked[def.param] as Doc, stored[def.param] as Doc);
  }
}

function text(status: number, body: string): SandboxResponse {
  return { status, body };
}

function register(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  const body = (req.body && typeof req.body === 'object' ? structuredClone(req.body) : {}) as Doc;
  try {
    if (!body.urn) throw new ValidationError('URN is required');
    if (!body.version || !SEMVER.test(String(body.version))) throw new ValidationError('Version is required. Must be in SemVer form x.y.z');
    if (body.configDefs) {
      validateConfigDefs(body.configDefs as Doc[]);
      if (body.config != null) validateConfig(body.configDefs as Doc[], body.config as Doc);
    }
    const existing = store.mediators.get(body.urn);
    if (existing) {
      if (compareSemver(String(body.version), String(existing.version)) > 0) {
        // An upgrade keeps config values the admin already set and only adds new params.
        if (body.config != null && existing.config != null) {
          for (const param of Object.keys(body.config as Doc)) {
            if (existing.config[param] != null) body.config[param] = existing.config[param];
          }
        }
        const errors: string[] = [];
        const shaped = shapeMediator(body, errors);
        for (const key of Object.keys(shaped)) {
          if (key !== 'name' || shaped.name) existing[key] = shaped[key];
        }
      }
    } else {
      if (!Array.isArray(body.endpoints) || body.endpoints.length < 1) throw new ValidationError('At least 1 endpoint is required');
      const errors: string[] = [];
      const mediator = shapeMediator(body, errors);
      if (errors.length) throw new ValidationError(`Mediator validation failed: ${errors.join(', ')}`);
      store.mediators.set(mediator.urn, { _id: objectId(), ...mediator, __v: 0 });
    }
    return { status: 201, body: 'Created' };
  } catch (error) {
    const err = error as Error;
    return text(err.name === 'ValidationError' ? 400 : 500, `Could not add Mediator via the API: ${err.name}: ${err.message}`);
  }
}


function heartbeat(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  const mediator = store.mediators.get(req.params.urn);
  if (!mediator) return text(404, 'Not Found');
  const beat = req.body as Doc | undefined;
  if (beat?.uptime == null) return text(400, 'Bad Request');
  const changed = mediator._configModifiedTS !== undefined && mediator._lastHeartbeat !== undefined &&
    Date.parse(mediator._configModifiedTS) > Date.parse(mediator._lastHeartbeat);
  mediator._lastHeartbeat = new Date().toISOString();
  mediator._uptime = beat.uptime;
  // An empty 200 means "no config news"; mediator-utils treats a body as fresh config.
  if (changed || beat.config === true) return { status: 200, body: mediator.config ?? {} };
  return text(200, '');
}

function setConfig(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  const mediator = store.mediators.get(req.params.urn);
  if (!mediator) return text(404, 'No mediator found for this urn.');
  const config = (req.body && typeof req.body === 'object' ? structuredClone(req.body) : {}) as Doc;
  try {
    restoreMaskedPasswords(mediator.configDefs as Doc[], config, mediator.config as Doc | undefined);
    validateConfig(mediator.configDefs as Doc[], config);
  } catch (error) {
    return text(400, (error as Error).message);
  }
  mediator.config = config;
  mediator._configModifiedTS = new Date().toISOString();
  return text(200, 'OK');
}

/** core's selectAuditFields() of the root user (firstname "Super", surname "User"). */
export const AUDIT_USER = { id: ROOT_USER_ID, name: 'Super User' };

function installChannels(store: OpenhimStore, req: SandboxRequest): SandboxResponse {
  const urn = req.params.urn;
  const mediator = store.mediators.get(urn);
  if (!mediator) return text(404, 'No mediator found for this urn.');
  const names = Array.isArray(req.body) ? (req.body as unknown[]).map(String) : [];
  const defaults = mediator.defaultChannelConfig as Doc[];
  const selected = names.length === 0 ? defaults : defaults.filter((channel) => names.includes(channel.name));
  if (selected.length < names.length) {
    return text(400, `Could not load mediator default channel config, one or more channels in the request body not found in the mediator config (urn: ${urn})`);
  }
  for (const template of selected) {
    const errors: string[] = [];
    const channel = shapeChannel(structuredClone(template), '', errors);
    channel.updatedBy = { ...AUDIT_USER };
    channel.__v = 0;
    store.addChannel(channel);
  }
  return text(201, 'Created');
}

export function mediatorRoutes(app: SandboxApp, store: OpenhimStore): void {
  app.get('/mediators', () => ({ status: 200, body: [...store.mediators.values()] }));
  app.post('/mediators', (req) => register(store, req));
  app.get('/mediators/:urn', (req) => {
    const mediator = store.mediators.get(req.params.urn);
    if (!mediator) return text(404, 'Not Found');
    const copy = structuredClone(mediator);
    maskPasswords(copy.configDefs as Doc[], copy.config as Doc | undefined);
    return { status: 200, body: copy };
  });
  app.delete('/mediators/:urn', (req) => {
    store.mediators.delete(req.params.urn);
    return text(200, `Mediator with urn ${req.params.urn} has been successfully removed by ${ROOT_EMAIL}`);
  });
  app.post('/mediators/:urn/heartbeat', (req) => heartbeat(store, req));
  app.put('/mediators/:urn/config', (req) => setConfig(store, req));
  app.post('/mediators/:urn/channels', (req) => installChannels(store, req));
}
