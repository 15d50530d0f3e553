import type { KaiConfig } from '../core/config/load-config.ts';
import type { Database } from '../core/db/database.ts';
import { StartupError } from '../core/errors.ts';
import type { Logger } from '../core/logging/logger.ts';
import type { OutboundPolicy } from '../core/net/outbound-guard.ts';
import { registryHousekeeping } from '../core/registry/registry-housekeeping.ts';
import type { ObjectStorage } from '../core/storage/object-storage.ts';
import { openStorage } from '../core/storage/open-storage.ts';
import { createInputReader } from '../core/storage/read-input.ts';
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

/** What a composition may choose beside the config. */
export interface ComposePoolOptions {
  /**
   * Where the handlers read stored inputs: the config's storage (as `openStorage` opens it)
   * when unset, none when null or when the config names none it can open (such jobs then
   * fail `input_unavailable`; inline images run as ever).
   */
  storage?: ObjectStorage | null;
  /** What input URLs may reach beyond the public internet (OUTBOUND_ALLOW_CIDRS). */
  outbound?: OutboundPolicy;
}

/**
 * Loads the model repository at MODEL_DIR and builds the pool over it, with an input reader
 * over the storage and the SSRF guard, inputs limited to UPLOAD_MAX_BYTES as the API limits
 * them; call `pool.start()`.
 */
export async function composePool(
  config: KaiConfig,
  db: Database,
  logger: Logger,
  options: ComposePoolOptions = {},
): Promise<ComposedPool> {
  const storage =
    options.storage === undefined
      ? configuredStorage(config, logger)
      : (options.storage ?? undefined);
  const inputReader = createInputReader({
    storage,
    maxBytes: config.storage.maxUploadBytes,
    timeoutMs: config.storage.inputUrlTimeoutMs,
    outbound: options.outbound,
  });
  logger.info({ storage: storage?.kind ?? 'none' }, 'pool reads job inputs');

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
    inputReader,
  });

  return {
    pool,
    models,
    prometheus,
    async drain() {
      await pool.drain();
      inputReader.close();
      await models.close();
    },
  };
}

/** The config's storage, or none (with a warning) when the config cannot open one. */
function configuredStorage(config: KaiConfig, logger: Logger): ObjectStorage | undefined {
  try {
    return openStorage(config, 'local');
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    logger.warn(
      { reason: error.message },
      'the pool has no storage: jobs with stored inputs fail input_unavailable',
    );
    return undefined;
  }
}
