const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * Every default Kai uses, in one place. Names follow the environment variables so that an
 * operator can read this object as the documentation of what happens when a variable is unset.
 */
export const DEFAULTS = {
  HOST: '127.0.0.1',
  PORT: 3000,
  LOG_LEVEL: 'info' as const,
  KAI_DATA_DIR: '.kai',
  DATABASE_POOL_MAX: 10,
  DATABASE_CONNECT_TIMEOUT_MS: 10 * SECOND,
  /** Supabase's transaction pooler listens on this port and cannot keep prepared statements. */
  TRANSACTION_POOLER_PORT: 6543,
  SHUTDOWN_TIMEOUT_MS: 8 * SECOND,
  METRICS_PORT: 8081,
  KAI_QUEUES: {
    interactive: { concurrency: 5, weight: 10 },
    batch: { concurrency: 10, weight: 5 },
    maintenance: { concurrency: 2, weight: 1 },
  },
  /** A worker that stops heartbeating loses its jobs this long after its last renewal. */
  JOB_LEASE_MS: 30 * SECOND,
  JOB_RETRY_BASE_MS: 1 * SECOND,
  JOB_RETRY_MAX_MS: 60 * MINUTE,
  JOB_RETENTION_DAYS: 7,
  /** Jobs one pool process holds at once, over all its batches. */
  POOL_CONCURRENCY: 16,
  /** The pool claims on notifications; this is the fallback when one is missed. */
  POOL_POLL_INTERVAL_MS: 2 * SECOND,
  BATCH_SIZE_LIMIT: 8,
  /** Relative, so it is `/app/models` in the container (WORKDIR /app) and `models/` locally. */
  MODEL_DIR: 'models',
  /** Supabase Auth puts this audience in its users' JWTs. */
  SUPABASE_JWT_AUDIENCE: 'authenticated',
  /** The Supabase Storage bucket (or data dir folder) that holds uploaded job inputs. */
  STORAGE_BUCKET: 'kai-inputs',
  /** The largest upload or base64 input one job takes. */
  UPLOAD_MAX_BYTES: 20 * 1024 * 1024,
} as const;
