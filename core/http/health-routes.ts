import { Hono } from 'hono';
import type { Database } from '../db/database.ts';
import { DatabaseUnavailableError, NotReadyError } from '../errors.ts';
import type { AppEnv } from './app-env.ts';
import { problemResponse } from './problem.ts';

/** How long a health probe waits for the database before calling it unavailable. */
const PROBE_TIMEOUT_MS = 2000;

/** What start-up has finished; `/readyz` is 200 only when all of it is true. */
export interface Readiness {
  migrations: boolean;
  pool: boolean;
}

async function databaseAnswers(db: Database): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
  });

  try {
    const answer = db.query('select 1').then(
      () => true,
      () => false,
    );
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz`: 200 while the database answers (liveness). `/readyz`: 200 once migrations are
 * applied and the pool is ready, 503 with the failing checks before (readiness).
 */
export function healthRoutes(db: Database, readiness: () => Readiness): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get('/healthz', async (c) => {
    if (await databaseAnswers(db)) return c.json({ status: 'ok' });
    return problemResponse(c, new DatabaseUnavailableError('The database does not answer.'));
  });

  routes.get('/readyz', async (c) => {
    const checks = { database: await databaseAnswers(db), ...readiness() };
    if (Object.values(checks).every(Boolean)) return c.json({ status: 'ready', checks });

    const failing = Object.keys(checks).filter((k) => !checks[k as keyof typeof checks]);
    return problemResponse(c, new NotReadyError(`Waiting for: ${failing.join(', ')}.`, checks));
  });

  return routes;
}
