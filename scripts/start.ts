// `npm start`: the whole of Kai in one process on embedded defaults. The Hono app on a Node
// server, the migrations, the worker pool with the models of MODEL_DIR, the outbox relay and the
// local delivery transport and, without DATABASE_URL, PGlite under KAI_DATA_DIR.
import { fileURLToPath } from 'node:url';
import { resolveJwtOptions } from '../core/auth/auth-setup.ts';
import { createJwtVerifier } from '../core/auth/jwt-verifier.ts';
import { loadConfig } from '../core/config/load-config.ts';
import { envSchema } from '../core/config/schema.ts';
import type { Database } from '../core/db/database.ts';
import { loadMigrations } from '../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../core/db/migrations/run-migrations.ts';
import { openDatabase } from '../core/db/open-database.ts';
import { type ComposedDelivery, composeDelivery } from '../core/events/compose-delivery.ts';
import { deliveryConfigFromEnv } from '../core/events/delivery-config.ts';
import { createApp } from '../core/http/app.ts';
import { createLogger } from '../core/logging/logger.ts';
import { loadDotenv } from '../core/node/load-dotenv.ts';
import { runService } from '../core/node/run-service.ts';
import { type NodeServer, serveNode } from '../core/node/serve-node.ts';
import { openStorage } from '../core/storage/open-storage.ts';
import { type ComposedPool, composePool } from '../gpu-pool/compose-pool.ts';
import { metricsRoute } from '../gpu-pool/pool-app.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../supabase/migrations', import.meta.url));

runService('Kai failed to start', () => {
  loadDotenv();
  const config = loadConfig(process.env);
  // loadConfig has checked every variable; this reads the delivery ones (core/events).
  const env = envSchema.parse(process.env);
  const deliveryConfig = deliveryConfigFromEnv(env);
  const logger = createLogger({ level: config.log.level });
  const readiness = { migrations: false, pool: false };
  const started: {
    db?: Database;
    server?: NodeServer;
    composed?: ComposedPool;
    delivery?: ComposedDelivery;
  } = {};
  const stopDelivery = new AbortController();

  const service = {
    async start(isStopping: () => boolean, shutdown: (reason: string) => void) {
      const db = await openDatabase(config.database, logger, (error) => {
        logger.error({ err: error }, 'the data dir lock was lost');
        shutdown('data dir lock lost');
      });
      started.db = db;
      if (isStopping()) return;

      // The pool reads uploads from the storage the API writes them to.
      const storage = openStorage(config, 'local');
      const outbound = { allow: env.OUTBOUND_ALLOW_CIDRS ?? [] };
      const composed = await composePool(config, db, logger, { storage, outbound });
      started.composed = composed;
      const delivery = composeDelivery({
        db,
        logger,
        config: deliveryConfig,
        outbound,
      });
      started.delivery = delivery;

      // One local server: the API and, as it listens on loopback by default, the pool's metrics.
      const jwt = await resolveJwtOptions(config, 'local');
      logger.info({ jwtSource: jwt.source, issuer: jwt.issuer }, 'API auth configured');
      const app = createApp({
        db,
        logger,
        readiness: () => readiness,
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
      // QStash calls these when DELIVERY_TRANSPORT=qstash points it at this server.
      app.route('/functions/v1/webhook-delivery', delivery.deliveryApp);
      app.route('/functions/v1/qstash-callback', delivery.callbackApp);
      app.route('/', metricsRoute(composed.prometheus.registry));
      started.server = await serveNode(app, config.http);
      logger.info({ url: started.server.url }, `Kai listening on ${started.server.url}`);

      const run = await runMigrations(db, await loadMigrations(MIGRATIONS_DIR), logger);
      readiness.migrations = true;
      if (isStopping()) return;

      await delivery.start(stopDelivery.signal);
      await composed.pool.start();
      readiness.pool = !isStopping();
      logger.info({ migrationsApplied: run.applied.length }, 'Kai is ready');
    },

    async stop() {
      readiness.pool = false;
      await started.server?.close();
      await started.composed?.drain();
      stopDelivery.abort();
      await started.delivery?.drain();
      await started.db?.close();
    },
  };

  return { logger, shutdownTimeoutMs: config.shutdown.timeoutMs, service };
});
