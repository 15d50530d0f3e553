import { createRoute, z } from '@hono/zod-openapi';
import { callerOf } from '../../auth/authenticate.ts';
import { asCaller } from '../../auth/user-scope.ts';
import { KaiError, NotFoundError, ValidationError } from '../../errors.ts';
import { type DeliveryRow, deliveryFromRow } from '../../events/deliveries.ts';
import type { DeliveryTransport } from '../../events/delivery-transport.ts';
import { EVENT_TYPES } from '../../events/event-types.ts';
import { createOutboundGuard, UnsafeUrlError } from '../../net/outbound-guard.ts';
import { replayDelivery, replayRange } from '../../webhooks/replay-deliveries.ts';
import { sendTestPing } from '../../webhooks/test-ping.ts';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listEndpoints,
  publicEndpoint,
  rotateEndpointSecret,
  type SigningEndpoint,
  updateEndpoint,
} from '../../webhooks/webhook-endpoints.ts';
import type { ApiDeps } from '../app-env.ts';
import { AUTH_PROBLEMS, BEARER_SECURITY, createRouter, IdParam, problem } from '../openapi.ts';

/** What the webhook routes need besides the API's own dependencies. */
export interface WebhookRouteDeps {
  /** Replays and test pings go out through it; without one they answer 503. */
  transport: DeliveryTransport | undefined;
  /** The SSRF guard's URL check: endpoints are refused when they point inside. */
  checkUrl: (url: string) => Promise<URL>;
  /** Attempts per delivery (`WEBHOOK_RETRY_ATTEMPTS` + 1). */
  maxAttempts: number;
}

/** Deliveries cannot go out: no transport in this process. */
class DeliveryUnavailableError extends KaiError {
  constructor() {
    super({
      code: 'delivery_unavailable',
      status: 503,
      title: 'Delivery unavailable',
      detail: 'This Kai process has no delivery transport; replays and pings cannot be sent.',
    });
  }
}

const eventTypeFilter = z
  .string()
  .max(100)
  .refine(
    (t) =>
      EVENT_TYPES.has(t) ||
      (t.endsWith('.*') && [...EVENT_TYPES.keys()].some((k) => k.startsWith(t.slice(0, -1)))),
    {
      error: `expects a known event type (${[...EVENT_TYPES.keys()].join(', ')}) or a prefix such as job.*`,
    },
  );

const EndpointSchema = z
  .object({
    id: z.uuid(),
    ownerId: z.uuid(),
    url: z.string(),
    description: z.string(),
    eventTypes: z.array(z.string()),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    disabledAt: z.string().nullable(),
    consecutiveFailures: z.number().int(),
    previousSecretExpiresAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('WebhookEndpoint');

const EndpointWithSecret = EndpointSchema.extend({ secret: z.string() }).openapi(
  'WebhookEndpointWithSecret',
);

const CreateBody = z
  .strictObject({
    url: z.string().max(2048),
    description: z.string().max(500).optional(),
    eventTypes: z.array(eventTypeFilter).max(100).optional(),
    enabled: z.boolean().optional(),
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, {
        error: 'expects whsec_ and base64 of 24-64 bytes',
      })
      .optional(),
  })
  .openapi('CreateWebhookEndpoint');

const PatchBody = z
  .strictObject({
    url: z.string().max(2048).optional(),
    description: z.string().max(500).optional(),
    eventTypes: z.array(eventTypeFilter).max(100).optional(),
    enabled: z.boolean().optional(),
  })
  .openapi('UpdateWebhookEndpoint');

const AttemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: z.string(),
  durationMs: z.number().int(),
  statusCode: z.number().int().nullable(),
  ok: z.boolean(),
  error: z.string().nullable(),
  responseExcerpt: z.string().nullable(),
});

const DeliverySchema = z
  .object({
    id: z.uuid(),
    eventId: z.uuid(),
    eventType: z.string(),
    status: z.enum(['pending', 'delivering', 'retrying', 'delivered', 'dead', 'cancelled']),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    replays: z.number().int(),
    payload: z.unknown(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    deadAt: z.string().nullable(),
    attemptLog: z.array(AttemptSchema).optional(),
  })
  .openapi('WebhookDelivery');

const DeliveryParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }),
  deliveryId: z.uuid().openapi({ param: { name: 'deliveryId', in: 'path' } }),
});

const DeliveriesQuery = z.object({
  status: z
    .enum(['pending', 'delivering', 'retrying', 'delivered', 'dead', 'cancelled'])
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.uuid().optional().openapi({ description: 'Cursor: `nextCursor` of the previous page' }),
});

const ReplayBody = z
  .strictObject({
    since: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }).optional(),
    only: z.enum(['dead', 'failed']).default('dead'),
  })
  .openapi('ReplayWebhookDeliveries');

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const NOT_FOUND = { 404: problem('No such webhook endpoint (or delivery) of yours.') };

const iso = (d: Date | null) => (d === null ? null : d.toISOString());
const endpointJson = (e: SigningEndpoint) => {
  const p = publicEndpoint(e);
  return {
    ...p,
    disabledAt: iso(p.disabledAt),
    previousSecretExpiresAt: iso(p.previousSecretExpiresAt),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
};
const deliveryJson = (row: DeliveryRow) => {
  const d = deliveryFromRow(row);
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    maxAttempts: d.maxAttempts,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    replays: d.replays,
    payload: d.payload,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: iso(d.deliveredAt),
    deadAt: iso(d.deadAt),
  };
};

const tags = ['webhooks'];
const routes = {
  create: createRoute({
    method: 'post',
    path: '/v1/webhooks',
    tags,
    summary: 'Create a webhook endpoint',
    description:
      'Kai signs every message per Standard Webhooks with the endpoint’s `whsec_` secret, ' +
      'returned here once (and by `GET /v1/webhooks/{id}/secret`). URLs that resolve to ' +
      'private, loopback, link-local or metadata addresses are refused.',
    security: BEARER_SECURITY,
    request: { body: { required: true, content: { 'application/json': { schema: CreateBody } } } },
    responses: {
      201: json(EndpointWithSecret, 'The endpoint and its secret'),
      ...AUTH_PROBLEMS,
      422: problem('Invalid input or a URL Kai will not call (`unsafe_url`).'),
    },
  }),
  list: createRoute({
    method: 'get',
    path: '/v1/webhooks',
    tags,
    summary: 'Your webhook endpoints',
    security: BEARER_SECURITY,
    responses: {
      200: json(z.object({ items: z.array(EndpointSchema) }), 'The endpoints'),
      ...AUTH_PROBLEMS,
    },
  }),
  get: createRoute({
    method: 'get',
    path: '/v1/webhooks/{id}',
    tags,
    summary: 'One webhook endpoint',
    security: BEARER_SECURITY,
    request: { params: IdParam },
    responses: { 200: json(EndpointSchema, 'The endpoint'), ...AUTH_PROBLEMS, ...NOT_FOUND },
  }),
  secret: createRoute({
    method: 'get',
    path: '/v1/webhooks/{id}/secret',
    tags,
    summary: 'The endpoint’s signing secret (and the previous one during a rotation)',
    security: BEARER_SECURITY,
    request: { params: IdParam },
    responses: {
      200: json(
        z.object({
          secret: z.string(),
          previousSecret: z.string().nullable(),
          previousSecretExpiresAt: z.string().nullable(),
        }),
        'The secrets',
      ),
      ...AUTH_PROBLEMS,
      ...NOT_FOUND,
    },
  }),
  update: createRoute({
    method: 'patch',
    path: '/v1/webhooks/{id}',
    tags,
    summary: 'Change an endpoint; enabling it again clears its failure count',
    security: BEARER_SECURITY,
    request: {
      params: IdParam,
      body: { required: true, content: { 'application/json': { schema: PatchBody } } },
    },
    responses: {
      200: json(EndpointSchema, 'The endpoint'),
      ...AUTH_PROBLEMS,
      ...NOT_FOUND,
      422: problem('Invalid input.'),
    },
  }),
  remove: createRoute({
    method: 'delete',
    path: '/v1/webhooks/{id}',
    tags,
    summary: 'Delete an endpoint and its deliveries',
    security: BEARER_SECURITY,
    request: { params: IdParam },
    responses: { 204: { description: 'Deleted' }, ...AUTH_PROBLEMS, ...NOT_FOUND },
  }),
  rotate: createRoute({
    method: 'post',
    path: '/v1/webhooks/{id}/rotate',
    tags,
    summary: 'Rotate the signing secret; the old one keeps signing beside it for 24 hours',
    security: BEARER_SECURITY,
    request: { params: IdParam },
    responses: {
      200: json(EndpointWithSecret, 'The endpoint and its new secret'),
      ...AUTH_PROBLEMS,
      ...NOT_FOUND,
    },
  }),
  test: createRoute({
    method: 'post',
    path: '/v1/webhooks/{id}/test',
    tags,
    summary: 'Send a webhook.test ping to the endpoint',
    security: BEARER_SECURITY,
    request: { params: IdParam },
    responses: {
      202: json(DeliverySchema, 'The ping’s delivery'),
      ...AUTH_PROBLEMS,
      ...NOT_FOUND,
      503: problem('No transport.'),
    },
  }),
  deliveries: createRoute({
    method: 'get',
    path: '/v1/webhooks/{id}/deliveries',
    tags,
    summary: 'The endpoint’s deliveries, newest first',
    security: BEARER_SECURITY,
    request: { params: IdParam, query: DeliveriesQuery },
    responses: {
      200: json(
        z.object({ items: z.array(DeliverySchema), nextCursor: z.uuid().nullable() }),
        'A page',
      ),
      ...AUTH_PROBLEMS,
      ...NOT_FOUND,
    },
  }),
  delivery: createRoute({
    method: 'get',
    path: '/v1/webhooks/{id}/deliveries/{deliveryId}',
    tags,
    summary: 'One delivery with every attempt (status, duration, response excerpt)',
    security: BEARER_SECURITY,
    request: { params: DeliveryParams },
    responses: { 200: json(DeliverySchema, 'The delivery'), ...AUTH_PROBLEMS, ...NOT_FOUND },
  }),
  replayOne: createRoute({
    method: 'post',
    path: '/v1/webhooks/{id}/deliveries/{deliveryId}/replay',
    tags,
    summary: 'Send a delivery again, with a fresh retry budget and the same message id',
    security: BEARER_SECURITY,
    request: { params: DeliveryParams },
    responses: {
      202: json(DeliverySchema, 'The delivery, pending'),
      ...AUTH_PROBLEMS,
      ...NOT_FOUND,
      503: problem('No transport.'),
    },
  }),
  replayRange: createRoute({
    method: 'post',
    path: '/v1/webhooks/{id}/replay',
    tags,
    summary: 'Replay the dead (or every undelivered) delivery of a time range',
    security: BEARER_SECURITY,
    request: {
      params: IdParam,
      body: { required: true, content: { 'application/json': { schema: ReplayBody } } },
    },
    responses: {
      202: json(z.object({ replayed: z.number().int() }), 'How many were replayed'),
      ...AUTH_PROBLEMS,
      ...NOT_FOUND,
      503: problem('No transport.'),
    },
  }),
};

/** `/v1/webhooks`: endpoints, secrets, rotation, test pings, deliveries and replays. */
export function webhooksRoutes(deps: ApiDeps, webhooks: WebhookRouteDeps) {
  const router = createRouter();
  const transport = () => {
    if (!webhooks.transport) throw new DeliveryUnavailableError();
    return webhooks.transport;
  };
  const checkUrl = async (url: string, path: string) => {
    try {
      await webhooks.checkUrl(url);
    } catch (error) {
      if (error instanceof UnsafeUrlError) {
        throw new KaiError(
          { code: 'unsafe_url', status: 422, title: 'URL not allowed', detail: error.message },
          { extensions: { errors: [{ path, message: error.message }] } },
        );
      }
      throw error;
    }
  };

  router.openapi(routes.create, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:write' });
    const body = c.req.valid('json');
    await checkUrl(body.url, 'body.url');
    const endpoint = await asCaller(deps.db, auth, (tx) => createEndpoint(tx, auth.subject, body));
    return c.json({ ...endpointJson(endpoint), secret: endpoint.secret }, 201);
  });

  router.openapi(routes.list, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:read' });
    const items = await asCaller(deps.db, auth, (tx) => listEndpoints(tx));
    return c.json({ items: items.map(endpointJson) }, 200);
  });

  router.openapi(routes.get, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:read' });
    const { id } = c.req.valid('param');
    return c.json(endpointJson(await asCaller(deps.db, auth, (tx) => getEndpoint(tx, id))), 200);
  });

  router.openapi(routes.secret, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:write' });
    const { id } = c.req.valid('param');
    const e = await asCaller(deps.db, auth, (tx) => getEndpoint(tx, id));
    const live = e.previousSecretExpiresAt !== null && e.previousSecretExpiresAt > new Date();
    return c.json(
      {
        secret: e.secret,
        previousSecret: live ? e.previousSecret : null,
        previousSecretExpiresAt: live ? iso(e.previousSecretExpiresAt) : null,
      },
      200,
    );
  });

  router.openapi(routes.update, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:write' });
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    if (patch.url !== undefined) await checkUrl(patch.url, 'body.url');
    return c.json(
      endpointJson(await asCaller(deps.db, auth, (tx) => updateEndpoint(tx, id, patch))),
      200,
    );
  });

  router.openapi(routes.remove, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:write' });
    const { id } = c.req.valid('param');
    await asCaller(deps.db, auth, (tx) => deleteEndpoint(tx, id));
    return c.body(null, 204);
  });

  router.openapi(routes.rotate, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:write' });
    const { id } = c.req.valid('param');
    const e = await asCaller(deps.db, auth, (tx) => rotateEndpointSecret(tx, id));
    return c.json({ ...endpointJson(e), secret: e.secret }, 200);
  });

  router.openapi(routes.test, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:write' });
    const { id } = c.req.valid('param');
    const endpoint = await asCaller(deps.db, auth, (tx) => getEndpoint(tx, id));
    const delivery = await sendTestPing(deps.db, transport(), endpoint, webhooks.maxAttempts);
    const [row] = await deps.db.query<DeliveryRow>(
      'select * from public.deliveries where id = $1',
      [delivery.id],
    );
    return c.json(deliveryJson(row as DeliveryRow), 202);
  });

  router.openapi(routes.deliveries, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:read' });
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    const rows = await asCaller(deps.db, auth, async (tx) => {
      await getEndpoint(tx, id);
      return await tx.query<DeliveryRow>(
        `select d.* from public.deliveries d
         where d.endpoint_id = $1 and ($2::text is null or d.status = $2)
           and ($3::uuid is null or (d.created_at, d.id) < (
             select created_at, id from public.deliveries where id = $3))
         order by d.created_at desc, d.id desc
         limit $4`,
        [id, query.status ?? null, query.before ?? null, query.limit + 1],
      );
    });
    const page = rows.slice(0, query.limit);
    return c.json(
      {
        items: page.map(deliveryJson),
        nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
      },
      200,
    );
  });

  router.openapi(routes.delivery, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:read' });
    const { id, deliveryId } = c.req.valid('param');
    const { row, attempts } = await asCaller(deps.db, auth, async (tx) => {
      const [found] = await tx.query<DeliveryRow>(
        'select * from public.deliveries where id = $1 and endpoint_id = $2',
        [deliveryId, id],
      );
      if (!found) throw new NotFoundError(`There is no delivery ${deliveryId} of endpoint ${id}.`);
      const log = await tx.query<{
        attempt: number;
        started_at: Date | string;
        duration_ms: number;
        status_code: number | null;
        ok: boolean;
        error: string | null;
        response_excerpt: string | null;
      }>('select * from public.delivery_attempts where delivery_id = $1 order by id', [deliveryId]);
      return { row: found, attempts: log };
    });
    return c.json(
      {
        ...deliveryJson(row),
        attemptLog: attempts.map((a) => ({
          attempt: a.attempt,
          startedAt: new Date(a.started_at).toISOString(),
          durationMs: a.duration_ms,
          statusCode: a.status_code,
          ok: a.ok,
          error: a.error,
          responseExcerpt: a.response_excerpt,
        })),
      },
      200,
    );
  });

  router.openapi(routes.replayOne, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:write' });
    const { id, deliveryId } = c.req.valid('param');
    const owned = await asCaller(deps.db, auth, (tx) =>
      tx.query('select id from public.deliveries where id = $1 and endpoint_id = $2', [
        deliveryId,
        id,
      ]),
    );
    if (owned.length === 0)
      throw new NotFoundError(`There is no delivery ${deliveryId} of endpoint ${id}.`);
    await replayDelivery(deps.db, transport(), deliveryId);
    const [row] = await deps.db.query<DeliveryRow>(
      'select * from public.deliveries where id = $1',
      [deliveryId],
    );
    return c.json(deliveryJson(row as DeliveryRow), 202);
  });

  router.openapi(routes.replayRange, async (c) => {
    const auth = callerOf(c, { scope: 'webhooks:write' });
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const since = new Date(body.since);
    const until = body.until ? new Date(body.until) : new Date();
    if (until <= since) {
      throw new ValidationError('The range ends before it starts.', [
        { path: 'body.until', message: 'must be after since' },
      ]);
    }
    await asCaller(deps.db, auth, (tx) => getEndpoint(tx, id));
    const replayed = await replayRange(deps.db, transport(), {
      endpointId: id,
      since,
      until,
      only: body.only,
    });
    return c.json({ replayed: replayed.length }, 202);
  });

  return router;
}

/** Webhook routes without a transport: URLs checked by a strict guard, no replays or pings. */
export function defaultWebhookDeps(): WebhookRouteDeps {
  const guard = createOutboundGuard();
  return { transport: undefined, checkUrl: (url) => guard.checkUrl(url), maxAttempts: 4 };
}
