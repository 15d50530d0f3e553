import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import type { Database } from '../db/database.ts';
import { KaiError, NotFoundError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { AppEnv } from './app-env.ts';
import { healthRoutes, type Readiness } from './health-routes.ts';
import { modelsRoutes } from './models-routes.ts';
import { internalErrorResponse, problemResponse } from './problem.ts';

export interface AppOptions {
  db: Database;
  logger: Logger;
  readiness: () => Readiness;
}

/** Probes are polled every few seconds; their log lines would drown the rest at info. */
const QUIET_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Kai's one HTTP app, served by Vercel, by `npm start` on Node and by tests through
 * `app.request()`. Every response carries `X-Request-Id`; every error is problem+json.
 */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId());
  app.use(async (c, next) => {
    const logger = options.logger.child({ requestId: c.get('requestId') });
    c.set('logger', logger);

    const startedAt = performance.now();
    await next();

    // Only the path: query strings may carry tokens.
    const line = {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
    };
    if (QUIET_PATHS.has(c.req.path)) logger.debug(line, 'request');
    else logger.info(line, 'request');
  });

  app.route('/', healthRoutes(options.db, options.readiness));
  app.route('/', modelsRoutes(options.db));

  app.notFound((c) => {
    return problemResponse(c, new NotFoundError(`No route ${c.req.method} ${c.req.path}.`));
  });

  app.onError((error, c) => {
    if (error instanceof KaiError) return problemResponse(c, error);
    (c.get('logger') ?? options.logger).error({ err: error }, 'request failed');
    return internalErrorResponse(c);
  });

  return app;
}
