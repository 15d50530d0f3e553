import { StartupError } from '../errors.ts';
import type { QueueClasses } from '../queue/queue-classes.ts';
import { DEFAULTS } from './defaults.ts';
import { envSchema } from './schema.ts';

/** Kai's configuration, parsed once at start and passed down; nothing else reads the env. */
export interface KaiConfig {
  http: { host: string; port: number };
  log: { level: string };
  database:
    | {
        driver: 'postgres';
        url: string;
        poolMax: number;
        connectTimeoutMs: number;
        /** False for Supabase's transaction pooler, which cannot keep prepared statements. */
        prepare: boolean;
      }
    | { driver: 'pglite'; dataDir: string };
  shutdown: { timeoutMs: number };
  queue: {
    classes: QueueClasses;
    leaseMs: number;
    retry: { baseMs: number; maxMs: number };
    retentionDays: number;
  };
  pool: {
    concurrency: number;
    pollIntervalMs: number;
    batchSizeLimit: number;
    modelDir: string;
    metricsPort: number;
  };
}

/**
 * Parses the environment into a `KaiConfig`. A wrong variable throws a `StartupError` whose
 * one-line message names every wrong variable and what it expects; values are never echoed,
 * since some of them carry passwords.
 */
export function loadConfig(env: Record<string, string | undefined>): KaiConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new StartupError(`Kai cannot start: ${problems.join('; ')}.`);
  }

  const e = parsed.data;
  const database: KaiConfig['database'] = e.DATABASE_URL
    ? {
        driver: 'postgres',
        url: e.DATABASE_URL,
        poolMax: e.DATABASE_POOL_MAX,
        connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
        prepare: e.DATABASE_PREPARE ?? !isTransactionPooler(e.DATABASE_URL),
      }
    : { driver: 'pglite', dataDir: e.KAI_DATA_DIR };

  return {
    http: { host: e.HOST, port: e.PORT },
    log: { level: e.LOG_LEVEL },
    database,
    shutdown: { timeoutMs: e.SHUTDOWN_TIMEOUT_MS },
    queue: {
      classes: e.KAI_QUEUES ?? structuredClone(DEFAULTS.KAI_QUEUES),
      leaseMs: e.JOB_LEASE_MS,
      retry: { baseMs: e.JOB_RETRY_BASE_MS, maxMs: e.JOB_RETRY_MAX_MS },
      retentionDays: e.JOB_RETENTION_DAYS,
    },
    pool: {
      concurrency: e.POOL_CONCURRENCY,
      pollIntervalMs: e.POOL_POLL_INTERVAL_MS,
      batchSizeLimit: e.BATCH_SIZE_LIMIT,
      modelDir: e.MODEL_DIR,
      metricsPort: e.METRICS_PORT,
    },
  };
}

function isTransactionPooler(url: string): boolean {
  return new URL(url).port === String(DEFAULTS.TRANSACTION_POOLER_PORT);
}
