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
  /** Jobs claimed ahead of free slots; worth it only for many short jobs. */
  POOL_PREFETCH: 0,
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
  /** How long the pool waits for an image job's input URL, per request, connection included. */
  INPUT_URL_TIMEOUT_MS: 30 * SECOND,
  RATE_LIMIT_ENABLED: true,
  /** Per caller (API key, else user, else client address), over a sliding minute. */
  RATE_LIMIT_PER_MINUTE: 600,
  /** `POST /v1/jobs` per caller and minute, counted apart from the limit above. */
  RATE_LIMIT_SUBMIT_PER_MINUTE: 120,
  /** Failed authentications (401s to requests with credentials) per address and minute. */
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: 60,
  /** How long a limit check waits for Redis before the request passes unmetered. */
  RATE_LIMIT_TIMEOUT_MS: 500,
  /** Off, except on Vercel (`VERCEL=1`), whose proxy sets the client's address headers. */
  TRUST_PROXY: false,
  /**
   * 28 MiB: room for an upload of UPLOAD_MAX_BYTES (20 MiB) sent as base64 JSON, a third larger,
   * with its envelope. Vercel itself stops function bodies at 4.5 MB.
   */
  API_BODY_LIMIT_BYTES: 28 * 1024 * 1024,
  IDEMPOTENCY_KEY_TTL_MS: 24 * 60 * MINUTE,
  NOTIFICATION_SERVICE_ENABLED: true,
  DEFAULT_NOTIFICATION_CHANNEL: 'in-app' as const,
  EMAIL_FROM: 'Kai <notifications@kai.local>',
  EMAIL_API_URL: 'https://api.resend.com',
  SMS_API_URL: 'https://api.twilio.com',
  VAPID_SUBJECT: 'mailto:notifications@kai.local',
  /** Retries after the first attempt of a delivery. */
  WEBHOOK_RETRY_ATTEMPTS: 3,
  /** Per attempt, connection included. */
  WEBHOOK_TIMEOUT_MS: 5 * SECOND,
  /** Retries wait 1 min, 2 min, 4 min, ... (doubling), at most an hour. */
  WEBHOOK_RETRY_BASE_MS: 1 * MINUTE,
  WEBHOOK_RETRY_MAX_MS: 60 * MINUTE,
  /** Consecutive failed attempts after which an endpoint is disabled and its owner told. */
  WEBHOOK_FAILURE_THRESHOLD: 15,
  /** Finished deliveries, their attempts and relayed events are kept this long. */
  DELIVERY_RETENTION_DAYS: 30,
  QSTASH_URL: 'https://qstash.upstash.io',
  PARAM_REGISTRY_ENABLED: true,
  /** Parameter-set versions older than this are pruned, except active and best ones. */
  PARAM_HISTORY_RETENTION_DAYS: 90,
  /** The set a job or suggestion reads when it names none. */
  DEFAULT_PARAMETER_SET: 'standard',
  /** The least cosine similarity of property vectors for a neighbour in suggestions. */
  SIMILARITY_THRESHOLD: 0.75,
} as const;
