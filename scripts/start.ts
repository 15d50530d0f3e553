// `npm start`: the whole of Kai in one process on embedded defaults. The Hono app on a Node
// server, the migrations, the worker pool with the models of MODEL_DIR and, without
// DATABASE_URL, PGlite under KAI_DATA_DIR.
import { fileURLToPath } from 'node:url';
import { type KaiConfig, loadConfig } from '../core/config/load-config.ts';
import type { Database } from '../core/db/database.ts';
import { loadMigrations } from '../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../core/db/migrations/run-migrations.ts';
import { openDatabase } from '../core/db/open-database.ts';
import { StartupError } from '../core/errors.ts';
import { createApp } from '../core/http/app.ts';
import { handleShutdownSignals } from '../core/lifecycle/shutdown-signals.ts';
import { createLogger, type Logger } from '../core/logging/logger.ts';
import { loadDotenv } from '../core/node/load-dotenv.ts';
import { type NodeServer, serveNode } from '../core/node/serve-node.ts';
import { type ComposedPool, composePool } from '../gpu-pool/compose-pool.ts';
import { metricsRoute } from '../gpu-pool/pool-app.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../supabase/migrations', import.meta.url));

/** What has started so far, stopped in reverse order by a drain or a failed start-up. */
const started: { db?: Database; server?: NodeServer; composed?: ComposedPool } = {};
const readiness = { migrations: false, pool: false };
let stopping = false;

async function stopAll(): Promise<void> {
  readiness.pool = false;
  await started.server?.close();
  await started.composed?.drain();
  await started.db?.close();
}

/** Starts each part in turn; a drain asked for meanwhile stops it between two steps. */
async function startUp(config: KaiConfig, logger: Logger, onLockLost: () => void): Promise<void> {
  const db = await openDatabase(config.database, logger, (error) => {
    logger.error({ err: error }, 'the data dir lock was lost');
    onLockLost();
  });
  started.db = db;
  if (stopping) return;

  const composed = await composePool(config, db, logger);
  started.composed = composed;

  // One local server: the API and, since it listens on loopback by default, the pool's metrics.
  const app = createApp({ db, logger, readiness: () => readiness });
  app.route('/', metricsRoute(composed.prometheus.registry));
  started.server = await serveNode(app, config.http);
  logger.info({ url: started.server.url }, `Kai listening on ${started.server.url}`);

  const run = await runMigrations(db, await loadMigrations(MIGRATIONS_DIR), logger);
  readiness.migrations = true;
  if (stopping) return;

  await composed.pool.start();
  readiness.pool = !stopping;
  logger.info({ migrationsApplied: run.applied.length }, 'Kai is ready');
}

async function main(): Promise<void> {
  loadDotenv();
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.log.level });

  let startup: Promise<void> = Promise.resolve();
  // Installed before anything starts: a signal during start-up waits for the step under way
  // (a migration commits or rolls back whole), then stops what has started.
  const shutdown = handleShutdownSignals({
    logger,
    timeoutMs: config.shutdown.timeoutMs,
    drain: async () => {
      stopping = true;
      await startup.catch(() => {});
      await stopAll();
    },
  });

  startup = startUp(config, logger, () => shutdown('data dir lock lost'));
  await startup;
}

main().catch(async (error: unknown) => {
  // A failure caused by a drain under way is the drain's to report.
  if (stopping) return;

  // One line for the operator; a stack only where the failure is not a known start-up error.
  if (error instanceof StartupError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Kai failed to start: ${(error as Error).stack ?? String(error)}\n`);

  await stopAll().catch(() => {});
  process.exit(1);
});
