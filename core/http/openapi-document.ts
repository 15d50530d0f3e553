import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from './app-env.ts';
import { problem } from './openapi.ts';

/** The document's info block; `/docs` renders it. */
const INFO = {
  title: 'Kai API',
  version: '1',
  description:
    'Materials recognition jobs, models and their configuration. Authenticate with ' +
    '`Authorization: Bearer <token>`: a Supabase Auth JWT, or a Kai API key (`kai_...`). ' +
    'Every error is `application/problem+json` with a stable `code` and the `requestId`.',
};

/**
 * Registers what the document needs beyond the routes declared with `createRoute`: the bearer
 * security scheme, and entries for the probes and `GET /v1/models`, which are plain Hono
 * routes. Then serves the OpenAPI 3.1 document at `/openapi.json`.
 */
export function serveOpenApiDocument(app: OpenAPIHono<AppEnv>): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'Supabase JWT or Kai API key (kai_...)',
  });

  const status = z.object({ status: z.string() }).passthrough();
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    tags: ['probes'],
    summary: 'Liveness: 200 while the database answers',
    responses: {
      200: { description: 'Alive', content: { 'application/json': { schema: status } } },
      503: problem('The database does not answer.'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    tags: ['probes'],
    summary: 'Readiness: 200 once migrations are applied and the pool is ready',
    responses: {
      200: { description: 'Ready', content: { 'application/json': { schema: status } } },
      503: problem('Not ready yet; `checks` says what is missing.'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/models',
    tags: ['models'],
    summary: 'The models the pools serve, their readiness, and the job types that can run',
    responses: {
      200: {
        description: 'Models and job types',
        content: { 'application/json': { schema: z.object({}).passthrough() } },
      },
    },
  });

  app.doc31('/openapi.json', { openapi: '3.1.0', info: INFO });
}
