import type { KaiConfig } from '../config/load-config.ts';
import { StartupError } from '../errors.ts';
import type { JwtVerifierOptions } from './jwt-verifier.ts';
import { LOCAL_JWT_ISSUER, loadLocalJwtSecret } from './local-jwt-secret.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Where Kai runs: a process of the machine (`npm start`), or a serverless function. */
export type AuthRuntime = 'local' | 'serverless';

/** The JWT settings Kai runs with, and where the secret came from. */
export interface ResolvedJwtOptions extends JwtVerifierOptions {
  /** `configured` (SUPABASE_JWT_SECRET / SUPABASE_JWKS_URL) or `data-dir` (generated). */
  source: 'configured' | 'data-dir';
}

/** True when the database is the embedded one or a Postgres on this machine. */
function isLocalStack(config: KaiConfig): boolean {
  if (config.database.driver === 'pglite') return true;
  return LOOPBACK_HOSTS.has(new URL(config.database.url).hostname);
}

/**
 * The JWT verification settings for this process. A configured SUPABASE_JWT_SECRET or
 * SUPABASE_JWKS_URL wins. Without either, a local stack (PGlite, or a Postgres on loopback,
 * outside a serverless function) uses the secret generated once in KAI_DATA_DIR, which
 * `npm run token` signs with, and the issuer `kai-local`. Anywhere else a missing secret or
 * issuer is a `StartupError`: a deployed Kai never invents its own.
 */
export async function resolveJwtOptions(
  config: KaiConfig,
  runtime: AuthRuntime,
): Promise<ResolvedJwtOptions> {
  const local = runtime === 'local' && isLocalStack(config);
  const { jwtSecret, jwksUrl, audience } = config.auth;

  if (jwtSecret || jwksUrl) {
    const issuer = config.auth.issuer ?? (local ? LOCAL_JWT_ISSUER : undefined);
    if (!issuer) {
      throw new StartupError(
        'Kai cannot start: set SUPABASE_URL (the issuer is its /auth/v1) or ' +
          'SUPABASE_JWT_ISSUER, so that JWTs of other issuers are refused.',
      );
    }
    return { secret: jwtSecret, jwksUrl, issuer, audience, source: 'configured' };
  }

  if (!local) {
    throw new StartupError(
      'Kai cannot start: set SUPABASE_JWT_SECRET (Supabase: Settings > API > JWT secret) or ' +
        'SUPABASE_JWKS_URL; only a local stack generates its own JWT secret.',
    );
  }
  return {
    secret: await loadLocalJwtSecret(config.dataDir),
    issuer: config.auth.issuer ?? LOCAL_JWT_ISSUER,
    audience,
    source: 'data-dir',
  };
}
