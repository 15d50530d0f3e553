// `npm run pool`: the GPU worker pool as its own long-running process, as it runs on
// Kubernetes. It needs a server database (DATABASE_URL) with the migrations applied, and serves
// /healthz, /readyz and /metrics on METRICS_PORT.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/config/load-config.ts';
import type { Database } from '../core/db/database.ts';
import { assertMigrationsApplied } from '../core/db/migrations/check-migrations.ts';
import { loadMigrations } from '../core/db/migrations/load-migrations.ts';
import { openDatabase } from '../core/db/open-database.ts';
import { StartupError } from '../core/errors.ts';
import { handleShutdownSignals } from '../core/lifecycle/shutdown-signals.ts';
import { createLogger } from '../core/logging/logger.ts';
import { loadDotenv } from '../core/node/load-dotenv.ts';
import { type NodeServer, serveNode } from '../core/node/serve-node.ts';
import { type ComposedPool, composePool } from './compose-pool.ts';
import { createPoolApp } from './pool-app.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../supabase/migrations', import.meta.url));

const started: { db?: Database; server?: NodeServer; composed?: ComposedPool } = {};
let stopping = false;

async function stopAll(): Promise<void> {
  await started.server?.close();
  await started.composed?.drain();
  await started.db?.close();
}

async function main(): Promise<void> {
  loadDotenv();
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.log.level, name: 'kai-pool' });
  if (config.database.driver !== 'postgres') {
    throw new StartupError(
      'Kai cannot start the pool: `npm run pool` needs DATABASE_URL, since the embedded ' +
        'database belongs to one process. `npm start` runs the pool beside the API instead.',
    );
  }

  let startup: Promise<void> = Promise.resolve();
  handleShutdownSignals({
    logger,
    timeoutMs: config.shutdown.timeoutMs,
    drain: async () => {
      stopping = true;
      await startup.catch(() => {});
      await stopAll();
    },
  });

  startup = (async () => {
    const db = await openDatabase(config.database, logger);
    started.db = db;
    await assertMigrationsApplied(db, await loadMigrations(MIGRATIONS_DIR));

    const composed = await composePool(config, db, logger);
    started.composed = composed;
    const app = createPoolApp({
      db,
      logger,
      registry: composed.prometheus.registry,
      isReady: () => composed.pool.isReady(),
    });
    started.server = await serveNode(app, {
      host: config.http.host,
      port: config.pool.metricsPort,
    });
    logger.info({ url: started.server.url }, `Kai pool probes on ${started.server.url}`);

    if (!stopping) await composed.pool.start();
  })();
  await startup;
}

main().catch(async (error: unknown) => {
  if (stopping) return;
  if (error instanceof StartupError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Kai pool failed: ${(error as Error).stack ?? String(error)}\n`);

  await stopAll().catch(() => {});
  process.exit(1);
});
