import type { KaiConfig } from '../core/config/load-config.ts';
import type { Database } from '../core/db/database.ts';
import type { Logger } from '../core/logging/logger.ts';
import { registryHousekeeping } from '../core/registry/registry-housekeeping.ts';
import { ALL_HANDLERS } from './handlers/all-handlers.ts';
import { modelReportsOf } from './models/model-reports.ts';
import { loadModelRepository, type ModelRepository } from './models/model-repository.ts';
import { createPrometheusMetrics, type PrometheusPoolMetrics } from './prometheus-metrics.ts';
import { repositoryModels } from './repository-models.ts';
import { createWorkerPool, type WorkerPool } from './worker-pool.ts';

/** A pool with its models and metrics, as `npm start` and `npm run pool` run it. */
export interface ComposedPool {
  pool: WorkerPool;
  models: ModelRepository;
  prometheus: PrometheusPoolMetrics;
  /** Drains the pool, then closes the model sessions. */
  drain(): Promise<void>;
}

/** Loads the model repository at MODEL_DIR and builds the pool over it; call `pool.start()`. */
export async function composePool(
  config: KaiConfig,
  db: Database,
  logger: Logger,
): Promise<ComposedPool> {
  const models = await loadModelRepository(config.pool.modelDir, { logger });
  const prometheus = createPrometheusMetrics(db);

  const pool = createWorkerPool({
    db,
    logger,
    handlers: ALL_HANDLERS,
    models: repositoryModels(models, config.pool.batchSizeLimit),
    modelReports: () => modelReportsOf(models),
    metrics: prometheus.metrics,
    queueClasses: config.queue.classes,
    leaseMs: config.queue.leaseMs,
    retry: config.queue.retry,
    retentionDays: config.queue.retentionDays,
    housekeeping: [{ name: 'registry', run: () => registryHousekeeping(db, config.registry) }],
    concurrency: config.pool.concurrency,
    prefetch: config.pool.prefetch,
    batchSizeLimit: config.pool.batchSizeLimit,
    pollIntervalMs: config.pool.pollIntervalMs,
  });

  return {
    pool,
    models,
    prometheus,
    async drain() {
      await pool.drain();
      await models.close();
    },
  };
}
