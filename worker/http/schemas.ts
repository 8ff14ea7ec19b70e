import { z } from '@hono/zod-openapi';
import { hasNoControl, hasNoNul, isStorableInstant, isWellFormedUnicode } from '../platform/text.ts';
import { codesFor } from './errors.ts';

/** RFC 9457 problem details, as every error response carries. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: 'validation_failed' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    reason: z.string().optional(),
  })
  .passthrough()
  .openapi('Problem');

const problemContent = { 'application/problem+json': { schema: ProblemSchema } };

const problemResponse = <S extends number>(status: S, description: string) => ({
  description: `${description}. Codes: ${codesFor(status).join(', ')}`,
  content: problemContent,
});

/** Error responses in one place, described from the error table, so every route documents them the same way. */
export const problems = {
  400: problemResponse(400, 'Invalid request'),
  401: problemResponse(401, 'Missing or invalid credentials'),
  404: problemResponse(404, 'Not found'),
  409: problemResponse(409, 'Conflict'),
  410: problemResponse(410, 'Gone'),
  413: problemResponse(413, 'Body over 1 MiB'),
  429: problemResponse(429, 'Rate or tier limit reached'),
  501: problemResponse(501, 'Not implemented'),
  503: problemResponse(503, 'Dependency unavailable'),
} as const;

export const pick = <K extends keyof typeof problems>(...codes: K[]) =>
  Object.fromEntries(codes.map((c) => [c, problems[c]])) as Pick<typeof problems, K>;

/** Tenant routes: the standard error set plus rate limiting. */
export const tenantProblems = pick(400, 401, 404, 413, 429);

export const Uuid = z.string().uuid();

/**
 * An opaque string (URL, issuer, audience, token, event name): at most `max` characters, no NUL, well-formed
 * Unicode (worker/platform/text.ts says why). Not trimmed: such values are compared byte for byte.
 */
export const SafeString = (max: number) =>
  z
    .string()
    .max(max)
    .refine(hasNoNul, 'must not contain NUL characters')
    .refine(isWellFormedUnicode, 'must be well-formed Unicode');

/** Text a person types (organization, owner, webhook and partner names): trimmed, 1..`max` characters, no control characters. */
export const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine(hasNoControl, 'must not contain control characters')
    .refine(isWellFormedUnicode, 'must be well-formed Unicode');

/**
 * A value compared for equality (agent type, capability, version, environment, scope): `Text` in Unicode
 * NFC, so canonically equivalent spellings (`é` as one code point, or `e` and a combining accent) are one value.
 */
export const Identifier = (max: number) =>
  z
    .string()
    .trim()
    .normalize('NFC')
    .min(1)
    .max(max)
    .refine(hasNoControl, 'must not contain control characters')
    .refine(isWellFormedUnicode, 'must be well-formed Unicode');

/** An instant with an explicit offset that Postgres stores as written (see isStorableInstant). */
export const Timestamp = z.iso
  .datetime({ offset: true })
  .refine(isStorableInstant, 'must be a real date and time between the years 1970 and 9999');

/**
 * An agent id as a request may spell it, mapped to its canonical lower-case form (shared/agent-id.ts): the
 * id is used as a string after validation (client_id, audit subjects, analytics keys, cache keys).
 */
export const AgentId = Uuid.toLowerCase();

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  body: { required: true, description, content: { 'application/json': { schema } } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const LimitQuery = z.coerce.number().int().min(1).max(100).default(50);

/** An opaque pagination cursor (worker/platform/pagination.ts decodes and checks it). */
export const CursorQuery = SafeString(200);

export const tenantSecurity = [{ tenantApiKey: [] }];
export const adminSecurity = [{ adminToken: [] }];
