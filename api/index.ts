// The Vercel function: Kai's Hono app over the server database. Migrations are applied at deploy
// time (`supabase db push`), and the GPU pool runs on Kubernetes, so both count as ready here.
// Vercel's Node runtime (@vercel/node) calls a default-exported function as a Node handler,
// (req, res), so the Hono app is served through @hono/node-server's request listener.
import { getRequestListener } from '@hono/node-server';
import type { VercelRequest, VercelResponse } from '@vercel/node';
import { resolveJwtOptions } from '../core/auth/auth-setup.ts';
import { createJwtVerifier } from '../core/auth/jwt-verifier.ts';
import { loadConfig } from '../core/config/load-config.ts';
import { createPostgresDatabase } from '../core/db/postgres-database.ts';
import { StartupError } from '../core/errors.ts';
import { createApp } from '../core/http/app.ts';
import { createLogger } from '../core/logging/logger.ts';
import { openStorage } from '../core/storage/open-storage.ts';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.log.level });

if (config.database.driver !== 'postgres') {
  throw new StartupError(
    'Kai on Vercel needs DATABASE_URL: a function has no disk to keep an embedded database on.',
  );
}

// A function never generates its own secret: SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL, and the
// issuer, must be set, or the function fails to start with a message that says so.
const jwt = await resolveJwtOptions(config, 'serverless');

// Without Supabase Storage, uploads are refused with a 503; inputs by URL still work.
const storage =
  config.storage.driver === 'supabase' ? openStorage(config, 'serverless') : undefined;
if (!storage) logger.warn('no Supabase Storage configured: uploads are refused');

// One connection per function instance: Vercel runs many instances, and Supabase's pooler
// multiplexes them.
const db = createPostgresDatabase({ ...config.database, poolMax: 1, logger });
const app = createApp({
  db,
  logger,
  readiness: () => ({ migrations: true, pool: true }),
  verifyJwt: createJwtVerifier(jwt),
  storage,
  maxUploadBytes: config.storage.maxUploadBytes,
  queueClasses: config.queue.classes,
  edge: config.edge,
  registry: config.registry,
});

const listener = getRequestListener(app.fetch);

/** The function Vercel invokes for every request its rewrites send to `/api`. */
export default function kai(req: VercelRequest, res: VercelResponse): Promise<void> {
  return listener(req, res);
}
