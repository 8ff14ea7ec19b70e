import { fromBase64Url, toBase64Url, utf8 } from './encoding.ts';
import { AppError } from '../platform/errors.ts';

/** Opaque keyset cursor over (created_at, id), newest first. */
export interface Cursor {
  createdAt: string;
  id: string;
}

export const encodeCursor = (c: Cursor): string => toBase64Url(utf8(JSON.stringify([c.createdAt, c.id])));

export function decodeCursor(s: string | undefined): Cursor | undefined {
  if (!s) return undefined;
  try {
    const [createdAt, id] = JSON.parse(new TextDecoder().decode(fromBase64Url(s))) as unknown[];
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) || typeof id !== 'string') throw new Error();
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new Error();
    return { createdAt, id };
  } catch {
    throw new AppError('validation_failed', 'cursor is not valid', { errors: [{ path: 'cursor', message: 'invalid cursor' }] });
  }
}
