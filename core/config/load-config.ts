import { StartupError } from '../errors.ts';
import type { RateLimitStoreConfig } from '../http/middleware/create-rate-limiter.ts';
import type { QueueClasses } from '../queue/queue-classes.ts';
import { type RegistrySettings, registrySettingsOf } from '../registry/registry-settings.ts';
import { DEFAULTS } from './defaults.ts';
import { type Env, envSchema } from './schema.ts';

/** Kai's configuration, parsed once at start and passed down; nothing else reads the env. */
export interface KaiConfig {
  http: { host: string; port: number };
  /** The parameter registry: PARAM_REGISTRY_ENABLED, DEFAULT_PARAMETER_SET and friends. */
  registry: RegistrySettings;
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
    prefetch: number;
    pollIntervalMs: number;
    batchSizeLimit: number;
    modelDir: string;
    metricsPort: number;
  };
  /** The API's edge middleware: rate limits, CORS, body size, idempotency keys. */
  edge: {
    rateLimit: {
      enabled: boolean;
      store: RateLimitStoreConfig;
      perMinute: number;
      submitPerMinute: number;
      authFailuresPerMinute: number;
      timeoutMs: number;
      trustProxy: boolean;
    };
    corsOrigins: string[];
    bodyLimitBytes: number;
    idempotencyTtlMs: number;
  };
  /** Supabase Auth JWTs; core/auth/auth-setup.ts gives the embedded default its secret. */
  auth: {
    jwtSecret: string | undefined;
    jwksUrl: string | undefined;
    /** SUPABASE_JWT_ISSUER, else SUPABASE_URL + '/auth/v1', else undefined. */
    issuer: string | undefined;
    audience: string;
  };
  supabase: { url: string | undefined; serviceKey: string | undefined };
  /** Where uploads go: Supabase Storage when SUPABASE_URL and SUPABASE_KEY are set. */
  storage: {
    driver: 'data-dir' | 'supabase';
    bucket: string;
    maxUploadBytes: number;
    /** INPUT_URL_TIMEOUT_MS: per request for an input given by URL. */
    inputUrlTimeoutMs: number;
  };
  /** KAI_DATA_DIR, also with DATABASE_URL: the local JWT secret and stored uploads live there. */
  dataDir: string;
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
      prefetch: e.POOL_PREFETCH,
      pollIntervalMs: e.POOL_POLL_INTERVAL_MS,
      batchSizeLimit: e.BATCH_SIZE_LIMIT,
      modelDir: e.MODEL_DIR,
      metricsPort: e.METRICS_PORT,
    },
    registry: registrySettingsOf(e),
    edge: {
      rateLimit: {
        enabled: e.RATE_LIMIT_ENABLED,
        store: rateLimitStore(e),
        perMinute: e.RATE_LIMIT_PER_MINUTE,
        submitPerMinute: e.RATE_LIMIT_SUBMIT_PER_MINUTE,
        authFailuresPerMinute: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
        timeoutMs: DEFAULTS.RATE_LIMIT_TIMEOUT_MS,
        trustProxy: e.TRUST_PROXY ?? (e.VERCEL === '1' || DEFAULTS.TRUST_PROXY),
      },
      corsOrigins: e.CORS_ORIGIN ?? [],
      bodyLimitBytes: e.API_BODY_LIMIT_BYTES,
      idempotencyTtlMs: e.IDEMPOTENCY_KEY_TTL_MS,
    },
    auth: {
      jwtSecret: e.SUPABASE_JWT_SECRET,
      jwksUrl: e.SUPABASE_JWKS_URL,
      issuer:
        e.SUPABASE_JWT_ISSUER ??
        (e.SUPABASE_URL ? `${e.SUPABASE_URL.replace(/\/+$/, '')}/auth/v1` : undefined),
      audience: e.SUPABASE_JWT_AUDIENCE,
    },
    supabase: { url: e.SUPABASE_URL, serviceKey: e.SUPABASE_KEY },
    storage: {
      driver: e.STORAGE_DRIVER ?? (e.SUPABASE_URL && e.SUPABASE_KEY ? 'supabase' : 'data-dir'),
      bucket: e.STORAGE_BUCKET,
      maxUploadBytes: e.UPLOAD_MAX_BYTES,
      inputUrlTimeoutMs: e.INPUT_URL_TIMEOUT_MS,
    },
    dataDir: e.KAI_DATA_DIR,
  };
}

/** Upstash when both of its variables are set, else REDIS_URL, else memory. */
function rateLimitStore(e: Env): RateLimitStoreConfig {
  const url = e.UPSTASH_REDIS_REST_URL;
  const token = e.UPSTASH_REDIS_REST_TOKEN;
  if ((url === undefined) !== (token === undefined)) {
    const missing = url === undefined ? 'UPSTASH_REDIS_REST_URL' : 'UPSTASH_REDIS_REST_TOKEN';
    throw new StartupError(
      `Kai cannot start: ${missing} is unset; Upstash needs both UPSTASH_REDIS_REST_URL and ` +
        'UPSTASH_REDIS_REST_TOKEN (or neither).',
    );
  }
  if (url !== undefined && token !== undefined) return { kind: 'upstash', url, token };
  if (e.REDIS_URL !== undefined) return { kind: 'redis', url: e.REDIS_URL };
  return { kind: 'memory' };
}

function isTransactionPooler(url: string): boolean {
  return new URL(url).port === String(DEFAULTS.TRANSACTION_POOLER_PORT);
}
