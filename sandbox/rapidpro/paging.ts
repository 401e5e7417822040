/**
 * DRF-style cursor pagination: {next, previous, results} where next/previous are full URLs
 * carrying an opaque base64 `cursor`. RapidPro orders by -modified_on or -created_on, then -id,
 * with a page size of 250.
 */
import type { SandboxRequest } from '../core';

export const PAGE_SIZE = 250;

export interface Position {
  key: string;
  id: number;
}

export class InvalidCursor extends Error {}

function encode(position: Position, reverse: boolean): string {
  return Buffer.from(new URLSearchParams({ p: position.key, i: String(position.id), r: reverse ? '1' : '0' }).toString()).toString('base64');
}

function decode(cursor: string): Position & { reverse: boolean } {
  const params = new URLSearchParams(Buffer.from(cursor, 'base64').toString('utf8'));
  const key = params.get('p');
  const id = Number(params.get('i'));
  if (key === null || !Number.isInteger(id)) throw new InvalidCursor('Invalid cursor');
  return { key, id, reverse: params.get('r') === '1' };
}

/**
 * One page of `items`; `position` gives each item's ordering key and id. Items are ordered
 * newest first unless `ascending`.
 */
export function cursorPage<T>(req: SandboxRequest, items: T[], position: (item: T) => Position, ascending = false, pageSize = PAGE_SIZE): { next: string | null; previous: string | null; results: T[] } {
  const direction = ascending ? 1 : -1;
  const compare = (a: Position, b: Position): number => {
    if (a.key !== b.key) return (a.key < b.key ? -1 : 1) * direction;
    return (a.id - b.id) * direction;
  };
  const sorted = [...items].sort((a, b) => compare(position(a), position(b)));
  const cursorText = req.query.get('cursor');
  const cursor = cursorText ? decode(cursorText) : undefined;

  let page: T[];
  let hasBefore: boolean;
  let hasAfter: boolean;
  if (!cursor) {
    page = sorted.slice(0, pageSize);
    hasBefore = false;
    hasAfter = sorted.length > pageSize;
  } else if (!cursor.reverse) {
    const after = sorted.filter((item) => compare(position(item), cursor) > 0);
    page = after.slice(0, pageSize);
    hasBefore = true;
    hasAfter = after.length > pageSize;
  } else {
    const before = sorted.filter((item) => compare(position(item), cursor) < 0);
    page = before.slice(Math.max(0, before.length - pageSize));
    hasBefore = before.length > pageSize;
    hasAfter = true;
  }

  const link = (cursorValue: string): string => {
    const query = new URLSearchParams(req.query);
    query.set('cursor', cursorValue);
    return `${req.origin}${req.path}?${query}`;
  };
  return {
    next: hasAfter && page.length > 0 ? link(encode(position(page[page.length - 1]), false)) : null,
    previous: hasBefore && page.length > 0 ? link(encode(position(page[0]), true)) : null,
    results: page,
  };
}
