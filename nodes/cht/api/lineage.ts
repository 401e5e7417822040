/**
 * CHT stores a contact's place and a report's author as minified lineages,
 * `{_id, parent: {_id, parent: ...}}`. Hydration replaces each stub with the full document, as
 * CHT's own lineage library does, with one bulk read per batch of changes.
 */
import type { ChtDoc, Lineage } from './types';

/** Guards against parent loops, as CHT's lineage library does. */
const MAX_DEPTH = 50;

/** The type a contact is configured as: `contact_type` for `type: "contact"`, else `type`. */
export function typeOf(doc: Pick<ChtDoc, 'type' | 'contact_type'> | undefined): string | undefined {
  if (!doc) return undefined;
  const type = doc.type === 'contact' ? doc.contact_type : doc.type;
  return typeof type === 'string' && type ? type : undefined;
}

/** The ids of a lineage, nearest first. */
export function lineageIds(lineage: unknown): string[] {
  const ids: string[] = [];
  let current = lineage as Lineage | undefined;
  while (current && typeof current === 'object' && typeof current._id === 'string' && ids.length < MAX_DEPTH) {
    ids.push(current._id);
    current = current.parent;
  }
  return ids;
}

/** The contact stub of a doc: places may store their contact as a bare id. */
function contactLineage(doc: ChtDoc): Lineage | undefined {
  if (typeof doc.contact === 'string') return doc.contact ? { _id: doc.contact } : undefined;
  return doc.contact && typeof doc.contact === 'object' && typeof doc.contact._id === 'string' ? doc.contact : undefined;
}

/** Every id that hydrating these docs needs: parent lineages and contact lineages. */
export function idsToHydrate(docs: ChtDoc[]): string[] {
  const ids = new Set<string>();
  for (const doc of docs) {
    for (const id of lineageIds(doc.parent)) ids.add(id);
    for (const id of lineageIds(contactLineage(doc))) ids.add(id);
  }
  return [...ids];
}

/** A lineage with each stub replaced by its document (stubs stay where a document is missing). */
export function hydrateLineage(lineage: Lineage | undefined, docs: ReadonlyMap<string, ChtDoc>): Lineage | undefined {
  const ids = lineageIds(lineage);
  if (ids.length === 0) return lineage;
  let hydrated: Lineage | undefined;
  for (let index = ids.length - 1; index >= 0; index -= 1) {
    const found = docs.get(ids[index]);
    const node: Lineage = found ? { ...found } : { _id: ids[index] };
    if (hydrated) node.parent = hydrated;
    else if (!found) delete node.parent;
    hydrated = node;
  }
  return hydrated;
}

/**
 * The doc with its parent lineage and its contact lineage hydrated. The contact's lineage is the
 * stub stored in the doc (CHT keeps it current); a contact stored as a bare id gets its own
 * document, with its parent left as stored.
 */
export function hydrateDoc(doc: ChtDoc, docs: ReadonlyMap<string, ChtDoc>): ChtDoc {
  const hydrated: ChtDoc = { ...doc };
  if (doc.parent) hydrated.parent = hydrateLineage(doc.parent, docs);
  const contact = contactLineage(doc);
  if (contact) hydrated.contact = hydrateLineage(contact, docs);
  return hydrated;
}
