// `npm run --silent token -- --sub <uuid>`: prints a JWT that this Kai accepts, signed with its
// HS256 secret (SUPABASE_JWT_SECRET, or the one `npm start` generated in KAI_DATA_DIR).
// Options: --ttl <seconds> (default 3600), --email <address>.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { resolveJwtOptions } from '../core/auth/auth-setup.ts';
import { loadConfig } from '../core/config/load-config.ts';
import { StartupError } from '../core/errors.ts';
import { loadDotenv } from '../core/node/load-dotenv.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_TTL_SEC = 3600;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      ttl: { type: 'string' },
      email: { type: 'string' },
    },
  });
  const sub = values.sub ?? randomUUID();
  if (!UUID.test(sub)) throw new StartupError('--sub expects a user id (a UUID).');
  const ttlSec = values.ttl === undefined ? DEFAULT_TTL_SEC : Number(values.ttl);
  if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > 30 * 86_400) {
    throw new StartupError('--ttl expects whole seconds from 1 to 2592000.');
  }

  loadDotenv();
  const options = await resolveJwtOptions(loadConfig(process.env), 'local');
  if (!options.secret) {
    throw new StartupError(
      'Kai verifies JWTs with SUPABASE_JWKS_URL only; sign tokens with that key set, or set ' +
        'SUPABASE_JWT_SECRET.',
    );
  }

  const token = await new SignJWT({
    role: 'authenticated',
    ...(values.email ? { email: values.email } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSec)
    .sign(new TextEncoder().encode(options.secret));
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof StartupError ? error.message : String(error);
  process.stderr.write(`kai token: ${message}\n`);
  process.exitCode = 1;
});
