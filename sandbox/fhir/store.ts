/**
 * Versioned resource store: every write appends an immutable version; the current version of
 * each resource and an identifier index answer reads and conditional operations in O(1).
 * Writes return an undo function so a failing transaction Bundle can roll everything back.
 */
import type { Resource } from './outcome';

export interface Version {
  type: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  /** The stored resource with id and meta; never mutated. Undefined for a delete. */
  resource?: Resource;
  method: 'POST' | 'PUT' | 'DELETE';
  /** Global write order, for type and system history. */
  seq: number;
}

export interface Entry {
  type: string;
  id: string;
  versions: Version[];
}

export type Undo = () => void;

export function current(entry: Entry): Version {
  return entry.versions[entry.versions.length - 1];
}

function identifierValues(resource: Resource | undefined): string[] {
  const identifiers = resource?.identifier;
  if (!identifiers) return [];
  return (Array.isArray(identifiers) ? identifiers : [identifiers])
    .map((identifier: { value?: unknown }) => identifier?.value)
    .filter((value): value is string => typeof value === 'string');
}

export class FhirStore {
  private readonly types = new Map<string, Map<string, Entry>>();
  /** resourceType -> identifier value -> ids, for conditional create/update and identifier search. */
  private readonly identifiers = new Map<string, Map<string, Set<string>>>();
  /** Every version in write order, for type/system history. */
  readonly log: Version[] = [];
  private seq = 0;
  private lastTime = 0;

  clear(): void {
    this.types.clear();
    this.identifiers.clear();
    this.log.length = 0;
    this.seq = 0;
  }

  get(type: string, id: string): Entry | undefined {
    return this.types.get(type)?.get(id);
  }

  /** Entries of a type in creation order, deleted ones included. */
  entries(type: string): IterableIterator<Entry> {
    return (this.types.get(type) ?? new Map<string, Entry>()).values();
  }

  idsWithIdentifierValue(type: string, value: string): Set<string> {
    return this.identifiers.get(type)?.get(value) ?? new Set();
  }

  /** lastUpdated never goes backwards, so _since and _lastUpdated see writes in order. */
  private now(): string {
    this.lastTime = Math.max(Date.now(), this.lastTime);
    return new Date(this.lastTime).toISOString();
  }

  /** Writes a new version (resource undefined = delete) and returns it with its undo. */
  write(type: string, id: string, resource: Resource | undefined, method: Version['method']): { version: Version; undo: Undo } {
    let byId = this.types.get(type);
    if (!byId) {
      byId = new Map();
      this.types.set(type, byId);
    }
    let entry = byId.get(id);
    const isNew = !entry;
    if (!entry) {
      entry = { type, id, versions: [] };
      byId.set(id, entry);
    }
    const previous = entry.versions.length ? current(entry) : undefined;
    const versionId = (previous?.versionId ?? 0) + 1;
    const lastUpdated = this.now();
    let stored: Resource | undefined;
    if (resource) {
      // id and meta first, as servers serialise them.
      const { resourceType, id: _clientId, meta, ...rest } = resource;
      stored = { resourceType, id, meta: { ...(meta ?? {}), versionId: String(versionId), lastUpdated }, ...rest };
    }
    const version: Version = { type, id, versionId, lastUpdated, resource: stored, method, seq: ++this.seq };
    entry.versions.push(version);
    this.log.push(version);
    this.reindex(type, id, previous?.resource, stored);
    const target = entry;
    const undo: Undo = () => {
      target.versions.pop();
      const index = this.log.lastIndexOf(version);
      if (index >= 0) this.log.splice(index, 1);
      this.reindex(type, id, stored, previous?.resource);
      if (isNew) byId.delete(id);
    };
    return { version, undo };
  }

  private reindex(type: string, id: string, before: Resource | undefined, after: Resource | undefined): void {
    let byValue = this.identifiers.get(type);
    if (!byValue) {
      byValue = new Map();
      this.identifiers.set(type, byValue);
    }
    for (const value of identifierValues(before)) byValue.get(value)?.delete(id);
    for (const value of identifierValues(after)) {
      let ids = byValue.get(value);
      if (!ids) {
        ids = new Set();
        byValue.set(value, ids);
      }
      ids.add(id);
    }
  }
}
