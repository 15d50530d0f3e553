const SECOND = 1000;

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
} as const;
