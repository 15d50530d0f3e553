// The composition both edge functions share: config from the function's environment, the
// database (Supabase provides SUPABASE_DB_URL to every function), and the delivery path of
// core/. Runs under Deno (Supabase) and Node (tests) alike.
import { envSchema } from '../../core/config/schema.ts';
import { createPostgresDatabase } from '../../core/db/postgres-database.ts';
import { StartupError } from '../../core/errors.ts';
import { type ComposedDelivery, composeDelivery } from '../../core/events/compose-delivery.ts';
import { deliveryConfigFromEnv } from '../../core/events/delivery-config.ts';
import { createLogger } from '../../core/logging/logger.ts';

/** One composed delivery path per function instance, with a way to close it. */
export interface EdgeDelivery {
  composed: ComposedDelivery;
  close(): Promise<void>;
}

/**
 * Builds the delivery path from the function's environment. The function instance only
 * answers requests: the relay and the local transport's loop belong to a long-running
 * process, so nothing is started here.
 */
export function composeEdgeDelivery(env: Record<string, string | undefined>): EdgeDelivery {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new StartupError(`The delivery function cannot start: ${problems.join('; ')}.`);
  }
  const e = parsed.data;
  const logger = createLogger({ level: e.LOG_LEVEL, name: 'kai-edge' });

  const url = env.SUPABASE_DB_URL ?? e.DATABASE_URL;
  if (!url) {
    throw new StartupError(
      'The delivery function cannot start: SUPABASE_DB_URL (or DATABASE_URL) is unset.',
    );
  }
  const db = createPostgresDatabase({
    url,
    poolMax: 3,
    connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    prepare: e.DATABASE_PREPARE ?? !url.includes(':6543'),
    logger,
    applicationName: 'kai-edge',
  });

  const composed = composeDelivery({
    db,
    logger,
    config: deliveryConfigFromEnv(e),
    outbound: { allow: e.OUTBOUND_ALLOW_CIDRS ?? [] },
  });
  return {
    composed,
    async close() {
      composed.http.close();
      await db.close();
    },
  };
}
