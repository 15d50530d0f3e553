import { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { apiKeysRoutes } from '../auth/api-keys-routes.ts';
import { authenticate } from '../auth/authenticate.ts';
import type { JwtVerifier } from '../auth/jwt-verifier.ts';
import { DEFAULTS } from '../config/defaults.ts';
import type { Database } from '../db/database.ts';
import { KaiError, NotFoundError } from '../errors.ts';
import { createJobReader } from '../jobs/job-reader.ts';
import { createJobSubmitter } from '../jobs/job-submitter.ts';
import { lazyChild } from '../logging/lazy-child.ts';
import type { Logger } from '../logging/logger.ts';
import type { QueueClasses } from '../queue/queue-classes.ts';
import { DEFAULT_REGISTRY_SETTINGS } from '../registry/registry-settings.ts';
import type { ObjectStorage } from '../storage/object-storage.ts';
import type { ApiDeps, AppEnv } from './app-env.ts';
import { healthRoutes, type Readiness } from './health-routes.ts';
import { type EdgeSettings, edgeMiddleware } from './middleware/edge-middleware.ts';
import type { RateLimiter } from './middleware/rate-limiter.ts';
import { modelsRoutes } from './models-routes.ts';
import { validationHook } from './openapi.ts';
import { serveOpenApiDocument } from './openapi-document.ts';
import { allowedMethods, MethodNotAllowedError } from './openapi-fallback.ts';
import { internalErrorResponse, problemResponse } from './problem.ts';
import { catalogRoutes } from './routes/catalog-routes.ts';
import { jobsRoutes } from './routes/jobs-routes.ts';
import { notificationsRoutes } from './routes/notifications-routes.ts';
import { type RegistrySettings, registryRoutes } from './routes/registry-routes.ts';
import { studiesRoutes } from './routes/studies-routes.ts';
import {
  defaultWebhookDeps,
  type WebhookRouteDeps,
  webhooksRoutes,
} from './routes/webhooks-routes.ts';
import { SubtreeRouter } from './subtree-router.ts';

export interface AppOptions {
  db: Database;
  logger: Logger;
  readiness: () => Readiness;
  /** Verifies Supabase JWTs; without it only API keys authenticate. */
  verifyJwt?: JwtVerifier | undefined;
  /** Where uploads go; without it uploads and base64 inputs are refused with a 503. */
  storage?: ObjectStorage | undefined;
  /** The largest upload or base64 input; `DEFAULTS.UPLOAD_MAX_BYTES` when unset. */
  maxUploadBytes?: number | undefined;
  /** The queue classes jobs may name; `DEFAULTS.KAI_QUEUES` when unset. */
  queueClasses?: QueueClasses | undefined;
  /** Rate limits, CORS, body limit, idempotency (`config.edge`); Kai's defaults when unset. */
  edge?: EdgeSettings | undefined;
  /** A rate limiter the caller built and closes; else one is built from `edge`. */
  rateLimiter?: RateLimiter | undefined;
  /**
   * The delivery transport and SSRF check of `/v1/webhooks`; without it endpoints are still
   * managed (URLs checked by a default guard) but replays and pings answer 503.
   */
  webhooks?: WebhookRouteDeps | undefined;
  /** PARAM_REGISTRY_ENABLED, DEFAULT_PARAMETER_SET, SIMILARITY_THRESHOLD; defaults when unset. */
  registry?: RegistrySettings | undefined;
}

/** Probes are polled every few seconds; their log lines would drown the rest at info. */
const QUIET_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Kai's one HTTP app, served by Vercel, by `npm start` on Node and by tests through
 * `app.request()`. Every response carries `X-Request-Id`; every error is problem+json, also
 * for unknown paths (404) and known paths asked with another method (405 with `Allow`).
 * Routes are declared with `@hono/zod-openapi`; `/openapi.json` is the OpenAPI 3.1 document
 * and `/docs` renders it.
 */
export function createApp(options: AppOptions): OpenAPIHono<AppEnv> {
  // RegExpRouter for every path but the subtrees whose routes it refuses: see SubtreeRouter.
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook, router: new SubtreeRouter() });
  const deps: ApiDeps = {
    db: options.db,
    logger: options.logger,
    storage: options.storage,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULTS.UPLOAD_MAX_BYTES,
    queueClasses: options.queueClasses ?? structuredClone(DEFAULTS.KAI_QUEUES),
    jobSubmitter: createJobSubmitter(options.db),
    jobReader: createJobReader(options.db),
    registry: options.registry ?? DEFAULT_REGISTRY_SETTINGS,
  };

  app.use(requestId());
  app.use(async (c, next) => {
    const id = c.get('requestId');
    c.set('logger', lazyChild(options.logger, { requestId: id }));

    const startedAt = performance.now();
    await next();

    // The request's line goes through the root logger with the request id as its first field,
    // as the request's child would write it, so a route that logs nothing makes no child.
    // Only the path: query strings may carry tokens. No header is ever logged.
    const line = {
      requestId: id,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
    };
    if (QUIET_PATHS.has(c.req.path)) options.logger.debug(line, 'request');
    else options.logger.info(line, 'request');
  });

  // Edge middleware (rate limits, idempotency, CORS, body limit): app.use(...) lines go here,
  // before authentication, so that they also guard requests whose credentials fail.
  const edge = edgeMiddleware({
    db: options.db,
    logger: options.logger,
    settings: options.edge,
    rateLimiter: options.rateLimiter,
  });
  for (const handler of edge.beforeAuth) app.use(handler);

  app.use('/v1/*', authenticate({ db: options.db, verifyJwt: options.verifyJwt }));

  // Rate limits and idempotency keys count per authenticated caller, so they come after it.
  for (const handler of edge.afterAuth) app.use(handler);

  app.route('/', healthRoutes(options.db, options.readiness));
  app.route('/', modelsRoutes(options.db));
  app.route('/', jobsRoutes(deps));
  app.route('/', apiKeysRoutes(deps));
  // Feature routes: mount further routers here, `app.route('/', xRoutes(deps))`.
  app.route('/', notificationsRoutes(deps));
  app.route('/', webhooksRoutes(deps, options.webhooks ?? defaultWebhookDeps()));
  app.route('/', catalogRoutes(deps));
  app.route('/', registryRoutes(deps, options.registry));
  app.route('/', studiesRoutes(deps, options.registry));

  serveOpenApiDocument(app);
  app.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'Kai API' }));

  app.notFound((c) => {
    const allow = allowedMethods(app, c.req.path);
    if (allow.length > 0 && !allow.includes(c.req.method)) {
      c.header('allow', allow.join(', '));
      return problemResponse(c, new MethodNotAllowedError(c.req.method, c.req.path, allow));
    }
    return problemResponse(c, new NotFoundError(`No route ${c.req.method} ${c.req.path}.`));
  });

  app.onError((error, c) => {
    if (error instanceof KaiError) {
      if (error.status === 401) c.header('www-authenticate', 'Bearer realm="kai"');
      return problemResponse(c, error);
    }
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, problemOfHttpException(error));
    }
    if (isDataException(error)) return problemResponse(c, new InvalidInputError(error));
    (c.get('logger') ?? options.logger).error({ err: error }, 'request failed');
    return internalErrorResponse(c);
  });

  return app;
}

/** Codes for the HTTP errors Hono's own middleware throws (bad JSON, wrong media type). */
const HTTP_CODES: Record<number, [code: string, title: string]> = {
  400: ['bad_request', 'Bad request'],
  405: ['method_not_allowed', 'Method not allowed'],
  411: ['length_required', 'Length required'],
  413: ['payload_too_large', 'Payload too large'],
  415: ['unsupported_media_type', 'Unsupported media type'],
};

function problemOfHttpException(error: HTTPException): KaiError {
  const [code, title] = HTTP_CODES[error.status] ?? [`http_${error.status}`, 'Bad request'];
  const message = error.message.replace(/\.+$/, '');
  const detail = message ? `${message}.` : 'The request cannot be handled as sent.';
  return new KaiError({ code, status: error.status, title, detail }, { cause: error });
}

/**
 * Postgres refused a value as data (SQLSTATE class 22: a NUL character in text, a number out of
 * range, a malformed timestamp): the input's fault, whatever route passed it on, so a 422.
 */
function isDataException(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}

/** A value the database cannot store as given (422 `invalid_input`). */
class InvalidInputError extends KaiError {
  constructor(cause: Error & { code: string }) {
    super(
      {
        code: 'invalid_input',
        status: 422,
        title: 'Invalid input',
        detail:
          'A value in the request cannot be stored as given (for example a NUL character in ' +
          'text, or a number out of range).',
      },
      { cause, extensions: { sqlstate: cause.code } },
    );
  }
}
