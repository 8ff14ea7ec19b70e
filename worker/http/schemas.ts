import { z } from '@hono/zod-openapi';

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

/** Error responses in one place so every route documents them the same way. */
export const problems = {
  400: { description: 'Invalid request', content: problemContent },
  401: { description: 'Missing or invalid credentials', content: problemContent },
  404: { description: 'Not found', content: problemContent },
  409: { description: 'Conflict', content: problemContent },
  410: { description: 'Gone', content: problemContent },
  413: { description: 'Body over 1 MiB', content: problemContent },
  429: { description: 'Rate or tier limit reached', content: problemContent },
  501: { description: 'Not implemented', content: problemContent },
  503: { description: 'Dependency unavailable', content: problemContent },
} as const;

export const pick = <K extends keyof typeof problems>(...codes: K[]) =>
  Object.fromEntries(codes.map((c) => [c, problems[c]])) as Pick<typeof problems, K>;

/** Tenant routes: the standard error set plus rate limiting. */
export const tenantProblems = pick(400, 401, 404, 413, 429);

export const Uuid = z.string().uuid();

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  body: { required: true, description, content: { 'application/json': { schema } } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const LimitQuery = z.coerce.number().int().min(1).max(100).default(50);

export const tenantSecurity = [{ tenantApiKey: [] }];
export const adminSecurity = [{ adminToken: [] }];
