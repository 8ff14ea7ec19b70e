// The one spelling of an agent id, shared by the Worker and node-oidc (node-oidc/Dockerfile copies this
// folder). Agent ids are UUIDs as Postgres prints them: lower-case hex with hyphens. Postgres accepts other
// spellings of the same UUID, so anything that compares, counts or caches ids as strings — the token
// counter, node-oidc's client lookup, a token's `sub`, the self-delegation check, DID URLs — must use this
// form or refuse the others.

export const AGENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for an agent id in its canonical spelling only. */
export const isAgentId = (value: unknown): value is string => typeof value === 'string' && AGENT_ID.test(value);
