import { AppError } from '../platform/errors.ts';
import { fromBase64Url, toBase64Url, utf8 } from './encoding.ts';
import { isStorableInstant } from './text.ts';

/** Opaque keyset cursor over (created_at, id), newest first. */
export interface Cursor {
  createdAt: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const encodeCursor = (c: Cursor): string => toBase64Url(utf8(JSON.stringify([c.createdAt, c.id])));

/**
 * Decodes a cursor made by `encodeCursor`. A client can send anything, so the timestamp must be a strict
 * ISO instant Postgres stores as written (not just something `Date.parse` accepts: it takes `"1"` and
 * rolls `2020-02-30` over) and the id a UUID. Throws `validation_failed` (400, field `cursor`) otherwise.
 */
export function decodeCursor(s: string | undefined): Cursor | undefined {
  if (!s) return undefined;
  try {
    const decoded = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(fromBase64Url(s)),
    ) as unknown;
    if (!Array.isArray(decoded) || decoded.length !== 2) throw new Error();
    const [createdAt, id] = decoded as unknown[];
    if (typeof createdAt !== 'string' || !isStorableInstant(createdAt)) throw new Error();
    if (typeof id !== 'string' || !UUID.test(id)) throw new Error();
    return { createdAt, id };
  } catch {
    throw new AppError('validation_failed', 'cursor is not valid', {
      errors: [{ path: 'cursor', message: 'invalid cursor' }],
    });
  }
}
