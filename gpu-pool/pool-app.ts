import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { Database } from '../core/db/database.ts';
import { createApp } from '../core/http/app.ts';
import type { AppEnv } from '../core/http/app-env.ts';
import type { Logger } from '../core/logging/logger.ts';

/** `GET /metrics` in Prometheus's text format. */
export function metricsRoute(registry: Registry): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/metrics', async (c) => {
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });
  return routes;
}

/** The pool process's own server on METRICS_PORT: `/healthz`, `/readyz` and `/metrics`. */
export function createPoolApp(options: {
  db: Database;
  logger: Logger;
  registry: Registry;
  isReady: () => boolean;
}): Hono<AppEnv> {
  const app = createApp({
    db: options.db,
    logger: options.logger,
    readiness: () => ({ migrations: true, pool: options.isReady() }),
  });
  app.route('/', metricsRoute(options.registry));
  return app;
}
