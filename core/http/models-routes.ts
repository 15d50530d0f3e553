import { Hono } from 'hono';
import type { Database } from '../db/database.ts';
import { modelsOverview } from '../jobs/model-status.ts';
import type { AppEnv } from './app-env.ts';

/**
 * `GET /v1/models`: the models the running pools serve (versions, readiness, why not ready,
 * the execution provider) and which job types can run now.
 */
export function modelsRoutes(db: Database): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/v1/models', async (c) => c.json(await modelsOverview(db)));
  return routes;
}
