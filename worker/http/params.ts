import type { z } from '@hono/zod-openapi';
import { AppError, zodFieldErrors } from './errors.ts';

/**
 * Path parameters checked against a route contract's schema, for the handlers registered with `app.get`
 * (those that answer 304s or several media types); fails as the contract's validation does: 400
 * `validation_failed` listing the fields.
 */
export function validParams<S extends z.ZodType>(schema: S, params: unknown): z.infer<S> {
  const result = schema.safeParse(params);
  if (!result.success)
    throw new AppError('validation_failed', 'Request validation failed', { errors: zodFieldErrors(result.error) });
  return result.data;
}
