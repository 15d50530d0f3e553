import { createRoute, z } from '@hono/zod-openapi';
import { NotFoundError } from '../errors.ts';
import type { ApiDeps } from '../http/app-env.ts';
import { AUTH_PROBLEMS, BEARER_SECURITY, createRouter, IdParam, problem } from '../http/openapi.ts';
import { type ApiKey, createApiKey, listApiKeys, revokeApiKey } from './api-keys.ts';
import { callerOf } from './authenticate.ts';
import { SCOPE_PATTERN } from './caller.ts';
import { asCaller } from './user-scope.ts';

const ApiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().openapi({ example: 'kai_Xk3f9a2b', description: 'The first characters.' }),
    scopes: z.array(z.string()),
    createdAt: z.string().openapi({ format: 'date-time' }),
    lastUsedAt: z.string().nullable().openapi({ format: 'date-time' }),
    expiresAt: z.string().nullable().openapi({ format: 'date-time' }),
    revokedAt: z.string().nullable().openapi({ format: 'date-time' }),
  })
  .openapi('ApiKey');

const CreateApiKeyBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    scopes: z
      .array(z.string().regex(SCOPE_PATTERN, 'expects <resource>:<action>, <resource>:* or *'))
      .min(1)
      .max(50)
      .openapi({ example: ['jobs:read', 'jobs:write'] }),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi('CreateApiKey');

function apiKeyJson(key: ApiKey) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

/** Only a signed-in user manages keys: a leaked key cannot mint or revoke others. */
const USER_SESSION = { kinds: ['jwt'] as const };

const createKey = createRoute({
  method: 'post',
  path: '/v1/api-keys',
  tags: ['api keys'],
  summary: 'Create an API key; the response holds its secret, shown this once',
  security: BEARER_SECURITY,
  request: {
    body: { required: true, content: { 'application/json': { schema: CreateApiKeyBody } } },
  },
  responses: {
    201: {
      description: 'The key, with its secret',
      content: {
        'application/json': { schema: ApiKeySchema.extend({ secret: z.string() }) },
      },
    },
    ...AUTH_PROBLEMS,
    422: problem('The body is not valid.'),
  },
});

const listKeys = createRoute({
  method: 'get',
  path: '/v1/api-keys',
  tags: ['api keys'],
  summary: "The caller's API keys, newest first, without secrets",
  security: BEARER_SECURITY,
  responses: {
    200: {
      description: 'Keys',
      content: { 'application/json': { schema: z.object({ data: z.array(ApiKeySchema) }) } },
    },
    ...AUTH_PROBLEMS,
  },
});

const revokeKey = createRoute({
  method: 'delete',
  path: '/v1/api-keys/{id}',
  tags: ['api keys'],
  summary: 'Revoke an API key; requests with it are refused from now on',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: {
    200: {
      description: 'The revoked key',
      content: { 'application/json': { schema: ApiKeySchema } },
    },
    ...AUTH_PROBLEMS,
    404: problem("No such key among the caller's."),
  },
});

/**
 * `/v1/api-keys`: users create (`POST`, the secret returned once), list (`GET`) and revoke
 * (`DELETE /v1/api-keys/{id}`) their API keys. Needs a user session (a JWT); every query runs
 * as the caller, so RLS keeps each user to their own keys.
 */
export function apiKeysRoutes(deps: ApiDeps) {
  const router = createRouter();

  router.openapi(createKey, async (c) => {
    const auth = callerOf(c, USER_SESSION);
    const body = c.req.valid('json');
    const { apiKey, secret } = await asCaller(deps.db, auth, (tx) =>
      createApiKey(tx, {
        ownerId: auth.subject,
        name: body.name,
        scopes: body.scopes,
        expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
      }),
    );
    c.get('logger').info({ apiKeyId: apiKey.id }, 'API key created');
    return c.json({ ...apiKeyJson(apiKey), secret }, 201);
  });

  router.openapi(listKeys, async (c) => {
    const auth = callerOf(c, USER_SESSION);
    const keys = await asCaller(deps.db, auth, listApiKeys);
    return c.json({ data: keys.map(apiKeyJson) }, 200);
  });

  router.openapi(revokeKey, async (c) => {
    const auth = callerOf(c, USER_SESSION);
    const { id } = c.req.valid('param');
    const key = await asCaller(deps.db, auth, (tx) => revokeApiKey(tx, id));
    if (!key) throw new NotFoundError(`You have no API key ${id}.`);
    c.get('logger').info({ apiKeyId: key.id }, 'API key revoked');
    return c.json(apiKeyJson(key), 200);
  });

  return router;
}
