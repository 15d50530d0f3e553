import { isIP } from 'node:net';
import { z } from 'zod';
import { queueClassesSchema } from '../queue/queue-classes.ts';
import { DEFAULTS } from './defaults.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads a variable with `schema`, treating an empty one as unset, as `.env` files leave them. */
function variable<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema);
}

const integer = (min: number, max: number, what: string) =>
  z.coerce
    .number({ error: `expects ${what}` })
    .int({ error: `expects ${what}` })
    .min(min, { error: `expects ${what}` })
    .max(max, { error: `expects ${what}` });

const boolean = z
  .enum(['true', 'false', '1', '0'], { error: 'expects true or false' })
  .transform((value) => value === 'true' || value === '1');

/** A JSON document in a variable, checked against `schema`. */
const json = <T extends z.ZodType>(schema: T, what: string) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `expects JSON: ${what}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const ms = (min: number, max: number) => integer(min, max, `milliseconds from ${min} to ${max}`);

const databaseUrl = z.string().refine(
  (value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.host !== '';
  },
  { error: 'expects a URL of the form postgres://user:password@host:port/database' },
);

const redisUrl = z
  .string()
  .refine(
    (value) => URL.canParse(value) && ['redis:', 'rediss:'].includes(new URL(value).protocol),
    { error: 'expects a URL of the form redis://[:password@]host:port[/db] (or rediss://)' },
  );

const httpsUrl = z
  .string()
  .refine((value) => URL.canParse(value) && ['https:', 'http:'].includes(new URL(value).protocol), {
    error: 'expects an https:// URL',
  });

/** `CORS_ORIGIN`: origins such as `https://app.example.com`, comma-separated, or `*`. */
const corsOrigins = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((origin) => origin.trim().replace(/\/+$/, ''))
      .filter((origin) => origin !== ''),
  )
  .refine(
    (origins) =>
      origins.every(
        (origin) =>
          origin === '*' ||
          (URL.canParse(origin) &&
            ['http:', 'https:'].includes(new URL(origin).protocol) &&
            new URL(origin).origin === origin),
      ),
    { error: 'expects comma-separated origins such as https://app.example.com, or *' },
  );

/** An IP address or CIDR block, as the outbound allow list takes them. */
function isCidr(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  if (extra !== undefined || isIP(address) === 0) return false;
  if (bits === undefined) return true;
  const prefix = Number(bits);
  return /^\d+$/.test(bits) && prefix <= (isIP(address) === 4 ? 32 : 128);
}

/** The environment variables Kai reads, with their defaults and what each expects. */
export const envSchema = z.object({
  HOST: variable(z.string().default(DEFAULTS.HOST)),
  PORT: variable(integer(0, 65_535, 'a TCP port between 0 and 65535').default(DEFAULTS.PORT)),
  LOG_LEVEL: variable(
    z
      .enum(LOG_LEVELS, { error: `expects one of ${LOG_LEVELS.join(', ')}` })
      .default(DEFAULTS.LOG_LEVEL),
  ),
  DATABASE_URL: variable(databaseUrl.optional()),
  DATABASE_POOL_MAX: variable(
    integer(1, 1000, 'a whole number of connections from 1 to 1000').default(
      DEFAULTS.DATABASE_POOL_MAX,
    ),
  ),
  DATABASE_CONNECT_TIMEOUT_MS: variable(
    integer(100, 600_000, 'milliseconds from 100 to 600000').default(
      DEFAULTS.DATABASE_CONNECT_TIMEOUT_MS,
    ),
  ),
  DATABASE_PREPARE: variable(boolean.optional()),
  KAI_DATA_DIR: variable(z.string().default(DEFAULTS.KAI_DATA_DIR)),
  SHUTDOWN_TIMEOUT_MS: variable(
    integer(0, 3_600_000, 'milliseconds from 0 to 3600000').default(DEFAULTS.SHUTDOWN_TIMEOUT_MS),
  ),
  METRICS_PORT: variable(
    integer(0, 65_535, 'a TCP port between 0 and 65535').default(DEFAULTS.METRICS_PORT),
  ),
  KAI_QUEUES: variable(
    json(queueClassesSchema, '{"<class>":{"concurrency":<n>,"weight":<n>},...}').optional(),
  ),
  JOB_LEASE_MS: variable(ms(1000, 3_600_000).default(DEFAULTS.JOB_LEASE_MS)),
  JOB_RETRY_BASE_MS: variable(ms(1, 3_600_000).default(DEFAULTS.JOB_RETRY_BASE_MS)),
  JOB_RETRY_MAX_MS: variable(ms(1, 86_400_000).default(DEFAULTS.JOB_RETRY_MAX_MS)),
  JOB_RETENTION_DAYS: variable(
    integer(1, 3650, 'a whole number of days from 1 to 3650').default(DEFAULTS.JOB_RETENTION_DAYS),
  ),
  POOL_CONCURRENCY: variable(
    integer(1, 10_000, 'a whole number from 1 to 10000').default(DEFAULTS.POOL_CONCURRENCY),
  ),
  POOL_PREFETCH: variable(
    integer(0, 100_000, 'a whole number from 0 to 100000').default(DEFAULTS.POOL_PREFETCH),
  ),
  POOL_POLL_INTERVAL_MS: variable(ms(10, 600_000).default(DEFAULTS.POOL_POLL_INTERVAL_MS)),
  BATCH_SIZE_LIMIT: variable(
    integer(1, 1024, 'a whole number from 1 to 1024').default(DEFAULTS.BATCH_SIZE_LIMIT),
  ),
  MODEL_DIR: variable(z.string().default(DEFAULTS.MODEL_DIR)),
  SUPABASE_URL: variable(
    z.url({ protocol: /^https?$/, error: 'expects an http(s) URL' }).optional(),
  ),
  /** The service role key: server side only (Storage uploads). */
  SUPABASE_KEY: variable(z.string().optional()),
  SUPABASE_JWT_SECRET: variable(
    z.string().min(32, { error: 'expects a secret of at least 32 characters' }).optional(),
  ),
  SUPABASE_JWKS_URL: variable(
    z.url({ protocol: /^https?$/, error: 'expects an http(s) URL' }).optional(),
  ),
  SUPABASE_JWT_ISSUER: variable(z.string().min(1).optional()),
  SUPABASE_JWT_AUDIENCE: variable(z.string().min(1).default(DEFAULTS.SUPABASE_JWT_AUDIENCE)),
  STORAGE_DRIVER: variable(
    z.enum(['data-dir', 'supabase'], { error: 'expects data-dir or supabase' }).optional(),
  ),
  STORAGE_BUCKET: variable(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, { error: 'expects a bucket name' })
      .default(DEFAULTS.STORAGE_BUCKET),
  ),
  UPLOAD_MAX_BYTES: variable(
    integer(1, 1024 * 1024 * 1024, 'a number of bytes from 1 to 1073741824').default(
      DEFAULTS.UPLOAD_MAX_BYTES,
    ),
  ),
  INPUT_URL_TIMEOUT_MS: variable(ms(100, 600_000).default(DEFAULTS.INPUT_URL_TIMEOUT_MS)),
  // The API's edge: rate limits, CORS, body size, idempotency keys.
  REDIS_URL: variable(redisUrl.optional()),
  UPSTASH_REDIS_REST_URL: variable(httpsUrl.optional()),
  UPSTASH_REDIS_REST_TOKEN: variable(z.string().optional()),
  RATE_LIMIT_ENABLED: variable(boolean.default(DEFAULTS.RATE_LIMIT_ENABLED)),
  RATE_LIMIT_PER_MINUTE: variable(
    integer(1, 1_000_000, 'requests per minute from 1 to 1000000').default(
      DEFAULTS.RATE_LIMIT_PER_MINUTE,
    ),
  ),
  RATE_LIMIT_SUBMIT_PER_MINUTE: variable(
    integer(1, 1_000_000, 'requests per minute from 1 to 1000000').default(
      DEFAULTS.RATE_LIMIT_SUBMIT_PER_MINUTE,
    ),
  ),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: variable(
    integer(1, 1_000_000, 'failed requests per minute from 1 to 1000000').default(
      DEFAULTS.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
    ),
  ),
  TRUST_PROXY: variable(boolean.optional()),
  /** Set to 1 by Vercel in its functions. */
  VERCEL: variable(z.string().optional()),
  CORS_ORIGIN: variable(corsOrigins.optional()),
  API_BODY_LIMIT_BYTES: variable(
    integer(1024, 1_073_741_824, 'bytes from 1024 to 1073741824').default(
      DEFAULTS.API_BODY_LIMIT_BYTES,
    ),
  ),
  IDEMPOTENCY_KEY_TTL_MS: variable(
    ms(60_000, 2_592_000_000).default(DEFAULTS.IDEMPOTENCY_KEY_TTL_MS),
  ),
  // Notifications and webhooks (core/events, core/notify, core/webhooks).
  NOTIFICATION_SERVICE_ENABLED: variable(boolean.default(DEFAULTS.NOTIFICATION_SERVICE_ENABLED)),
  DEFAULT_NOTIFICATION_CHANNEL: variable(
    z
      .enum(['in-app', 'email', 'sms', 'push'], { error: 'expects in-app, email, sms or push' })
      .default(DEFAULTS.DEFAULT_NOTIFICATION_CHANNEL),
  ),
  EMAIL_PROVIDER: variable(z.enum(['resend'], { error: 'expects resend' }).optional()),
  EMAIL_API_KEY: variable(z.string().optional()),
  EMAIL_FROM: variable(z.string().min(3).default(DEFAULTS.EMAIL_FROM)),
  EMAIL_API_URL: variable(httpsUrl.default(DEFAULTS.EMAIL_API_URL)),
  SMS_PROVIDER: variable(z.enum(['twilio'], { error: 'expects twilio' }).optional()),
  SMS_API_KEY: variable(z.string().optional()),
  SMS_ACCOUNT_SID: variable(z.string().optional()),
  SMS_FROM: variable(z.string().optional()),
  SMS_API_URL: variable(httpsUrl.default(DEFAULTS.SMS_API_URL)),
  VAPID_PUBLIC_KEY: variable(z.string().optional()),
  VAPID_PRIVATE_KEY: variable(z.string().optional()),
  VAPID_SUBJECT: variable(z.string().default(DEFAULTS.VAPID_SUBJECT)),
  WEBHOOK_RETRY_ATTEMPTS: variable(
    integer(0, 20, 'a whole number of retries from 0 to 20').default(
      DEFAULTS.WEBHOOK_RETRY_ATTEMPTS,
    ),
  ),
  WEBHOOK_TIMEOUT_MS: variable(ms(100, 60_000).default(DEFAULTS.WEBHOOK_TIMEOUT_MS)),
  WEBHOOK_RETRY_BASE_MS: variable(ms(1, 86_400_000).default(DEFAULTS.WEBHOOK_RETRY_BASE_MS)),
  WEBHOOK_RETRY_MAX_MS: variable(ms(1, 86_400_000).default(DEFAULTS.WEBHOOK_RETRY_MAX_MS)),
  WEBHOOK_FAILURE_THRESHOLD: variable(
    integer(1, 10_000, 'a whole number from 1 to 10000').default(
      DEFAULTS.WEBHOOK_FAILURE_THRESHOLD,
    ),
  ),
  DELIVERY_RETENTION_DAYS: variable(
    integer(1, 3650, 'a whole number of days from 1 to 3650').default(
      DEFAULTS.DELIVERY_RETENTION_DAYS,
    ),
  ),
  DELIVERY_TRANSPORT: variable(
    z.enum(['local', 'qstash'], { error: 'expects local or qstash' }).default('local'),
  ),
  /** Public URLs of the `webhook-delivery` and `qstash-callback` functions (QStash calls them). */
  DELIVERY_ENDPOINT_URL: variable(httpsUrl.optional()),
  DELIVERY_CALLBACK_URL: variable(httpsUrl.optional()),
  QSTASH_URL: variable(httpsUrl.default(DEFAULTS.QSTASH_URL)),
  QSTASH_TOKEN: variable(z.string().optional()),
  QSTASH_CURRENT_SIGNING_KEY: variable(z.string().optional()),
  QSTASH_NEXT_SIGNING_KEY: variable(z.string().optional()),
  /** Private addresses outbound requests may reach anyway (`10.0.0.0/8,127.0.0.1`); none by default. */
  OUTBOUND_ALLOW_CIDRS: variable(
    z
      .string()
      .transform((text) =>
        text
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== ''),
      )
      .refine((entries) => entries.every((entry) => isCidr(entry)), {
        error: 'expects comma-separated IP addresses or CIDR blocks such as 10.0.0.0/8',
      })
      .optional(),
  ),
  PARAM_REGISTRY_ENABLED: variable(boolean.default(DEFAULTS.PARAM_REGISTRY_ENABLED)),
  PARAM_HISTORY_RETENTION_DAYS: variable(
    integer(1, 36_500, 'a whole number of days from 1 to 36500').default(
      DEFAULTS.PARAM_HISTORY_RETENTION_DAYS,
    ),
  ),
  DEFAULT_PARAMETER_SET: variable(
    z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,62}$/, {
        error: 'expects a set name: lower-case letters, digits, _ and -',
      })
      .default(DEFAULTS.DEFAULT_PARAMETER_SET),
  ),
  SIMILARITY_THRESHOLD: variable(
    z.coerce
      .number({ error: 'expects a number from 0 to 1' })
      .min(0, { error: 'expects a number from 0 to 1' })
      .max(1, { error: 'expects a number from 0 to 1' })
      .default(DEFAULTS.SIMILARITY_THRESHOLD),
  ),
});

export type Env = z.infer<typeof envSchema>;
