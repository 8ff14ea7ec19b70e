import { Container } from '@cloudflare/containers';

/**
 * node-oidc as a Cloudflare Container (production): the image is built from node-oidc/Dockerfile
 * (wrangler.toml [[containers]]). The Worker reaches it through the NODE_OIDC binding (worker/features/oidc/node-oidc.ts);
 * it is never exposed to the internet directly. Its configuration comes from the Worker's own variables and
 * secrets, passed at container start; locally node-oidc runs as a Node process instead (OIDC_ORIGIN).
 */
export class NodeOidcContainer extends Container<Env> {
  override defaultPort = 8080;
  override sleepAfter = '15m';

  constructor(ctx: DurableObjectState, env: Env) {
    // biome-ignore lint/complexity/noBannedTypes: the Container base class is declared with DurableObjectState<{}>.
    super(ctx as DurableObjectState<{}>, env);
    const vars = env as unknown as Record<string, unknown>;
    const pass: Record<string, string> = { NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '8080' };
    for (const name of [
      'DATABASE_URL',
      'OIDC_ISSUER',
      'INTERNAL_TOKEN',
      'OIDC_JWKS',
      'OIDC_AUDIENCE',
      'OIDC_ACCESS_TOKEN_TTL_SECONDS',
      'VAULT_ADDR',
      'VAULT_TOKEN',
      'VAULT_MOUNT',
      'VAULT_NAMESPACE',
      'A2A_ENABLED',
      'DELEGATION_MAX_DEPTH',
      'DELEGATION_DEFAULT_TTL_SECONDS',
      'DELEGATION_MAX_TTL_SECONDS',
    ]) {
      const v = vars[name];
      if (typeof v === 'string' && v !== '') pass[name] = v;
    }
    this.envVars = pass;
  }

  override onError(error: unknown): never {
    console.error(JSON.stringify({ level: 'error', msg: 'node-oidc container error', error: String(error) }));
    throw error;
  }
}
