// `npm run pool`: the GPU worker pool as its own long-running process, as it runs on
// Kubernetes. It needs a server database (DATABASE_URL) with the migrations applied, and serves
// /healthz, /readyz and /metrics on METRICS_PORT.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/config/load-config.ts';
import { envSchema } from '../core/config/schema.ts';
import type { Database } from '../core/db/database.ts';
import { assertMigrationsApplied } from '../core/db/migrations/check-migrations.ts';
import { loadMigrations } from '../core/db/migrations/load-migrations.ts';
import { openDatabase } from '../core/db/open-database.ts';
import { StartupError } from '../core/errors.ts';
import { createLogger } from '../core/logging/logger.ts';
import { loadDotenv } from '../core/node/load-dotenv.ts';
import { runService } from '../core/node/run-service.ts';
import { type NodeServer, serveNode } from '../core/node/serve-node.ts';
import { type ComposedPool, composePool } from './compose-pool.ts';
import { createPoolApp } from './pool-app.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../supabase/migrations', import.meta.url));

runService('Kai pool failed', () => {
  loadDotenv();
  const config = loadConfig(process.env);
  // loadConfig has checked every variable; this reads the outbound allow list (core/net).
  const outbound = { allow: envSchema.parse(process.env).OUTBOUND_ALLOW_CIDRS ?? [] };
  const logger = createLogger({ level: config.log.level, name: 'kai-pool' });
  if (config.database.driver !== 'postgres') {
    throw new StartupError(
      'Kai cannot start the pool: `npm run pool` needs DATABASE_URL, since the embedded ' +
        'database belongs to one process. `npm start` runs the pool beside the API instead.',
    );
  }
  const started: { db?: Database; server?: NodeServer; composed?: ComposedPool } = {};

  const service = {
    async start(isStopping: () => boolean) {
      const db = await openDatabase(config.database, logger);
      started.db = db;
      await assertMigrationsApplied(db, await loadMigrations(MIGRATIONS_DIR));

      // Stored inputs are read from the storage the config names, as the API's.
      const composed = await composePool(config, db, logger, { outbound });
      started.composed = composed;
      const app = createPoolApp({
        db,
        logger,
        registry: composed.prometheus.registry,
        isReady: () => composed.pool.isReady(),
      });
      const address = { host: config.http.host, port: config.pool.metricsPort };
      started.server = await serveNode(app, address);
      logger.info({ url: started.server.url }, `Kai pool probes on ${started.server.url}`);

      if (!isStopping()) await composed.pool.start();
    },

    async stop() {
      await started.server?.close();
      await started.composed?.drain();
      await started.db?.close();
    },
  };

  return { logger, shutdownTimeoutMs: config.shutdown.timeoutMs, service };
});
