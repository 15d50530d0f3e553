// The Vercel function: Kai's Hono app over the server database. Migrations are applied at deploy
// time (`supabase db push`), and the GPU pool runs on Kubernetes, so both count as ready here.
// Vercel's Node runtime (@vercel/node) calls a default-exported function as a Node handler,
// (req, res), so the Hono app is served through @hono/node-server's request listener.
import { getRequestListener } from '@hono/node-server';
import type { VercelRequest, VercelResponse } from '@vercel/node';
import { resolveJwtOptions } from '../core/auth/auth-setup.ts';
import { createJwtVerifier } from '../core/auth/jwt-verifier.ts';
import { loadConfig } from '../core/config/load-config.ts';
import { envSchema } from '../core/config/schema.ts';
import { createPostgresDatabase } from '../core/db/postgres-database.ts';
import { StartupError } from '../core/errors.ts';
import { composeDelivery } from '../core/events/compose-delivery.ts';
import { deliveryConfigFromEnv } from '../core/events/delivery-config.ts';
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

// The delivery path as `npm start` composes it, but never started: a function runs no outbox
// relay and no local delivery loop. Webhook pings and replays go to its transport: with
// DELIVERY_TRANSPORT=qstash they are published to QStash, which calls the delivery endpoint.
const env = envSchema.parse(process.env);
const deliveryConfig = deliveryConfigFromEnv(env);
const delivery = composeDelivery({
  db,
  logger,
  config: deliveryConfig,
  outbound: { allow: env.OUTBOUND_ALLOW_CIDRS ?? [] },
});
if (deliveryConfig.transport.kind !== 'qstash') {
  // Limitation: the local transport queues pings and replays in Postgres for a process that
  // runs the delivery loop (`npm start`); a function alone never sends them.
  logger.warn('DELIVERY_TRANSPORT is not qstash: webhook pings and replays wait for a Kai node');
}

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
  webhooks: {
    transport: delivery.transport,
    checkUrl: (url) => delivery.http.checkUrl(url),
    maxAttempts: deliveryConfig.retries + 1,
  },
});

const listener = getRequestListener(app.fetch);

/**
 * The function Vercel invokes for every request its rewrites send to `/api`.
 *
 * Vercel's Node helpers (`req.body` and friends, on unless NODEJS_HELPERS=0) read the body
 * before the function runs and replay it only through `req.on('data')`, so the stream reads
 * as used up. The replayed bytes are handed to the Node adapter as `rawBody`, which it reads
 * instead of the stream; without that every JSON body looked empty (400 `bad_request`).
 */
export default async function kai(req: VercelRequest, res: VercelResponse): Promise<void> {
  const incoming = req as VercelRequest & { rawBody?: Buffer };
  if (incoming.readableDidRead && incoming.rawBody === undefined) {
    incoming.rawBody = await replayedBody(incoming);
  }
  return listener(req, res);
}

/** The body as Vercel's helpers replay it, through 'data' and 'end'. */
function replayedBody(req: VercelRequest): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer | string) => {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
