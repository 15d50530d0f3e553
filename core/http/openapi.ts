import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ValidationError } from '../errors.ts';
import type { AppEnv } from './app-env.ts';
import { problemResponse } from './problem.ts';

/** Where a failing field was: the body, the query string, the path or a header. */
const TARGET_NAMES: Record<string, string> = {
  json: 'body',
  form: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
  cookie: 'cookie',
};

interface HookResult {
  success: boolean;
  target: string;
  error?: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
}

/**
 * The hook every route's zod validation ends in: a failure becomes a 422 `validation_failed`
 * problem whose `errors` list each failing field as `{ path, message }`, the path starting
 * with where it was (`body.type`, `query.limit`, `path.id`).
 */
export function validationHook(result: HookResult, c: Context): Response | undefined {
  if (result.success) return undefined;

  const where = TARGET_NAMES[result.target] ?? result.target;
  const fields = (result.error?.issues ?? []).map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const names = [...new Set(fields.map((f) => f.path))].join(', ');
  return problemResponse(c, new ValidationError(`The request is not valid: ${names}.`, fields));
}

/**
 * A router for a group of Kai's routes. Declare each with `createRoute` and register it with
 * `router.openapi(route, handler)`; mounted with `app.route('/', router)` it joins the one
 * OpenAPI document and inherits the app's validation hook.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** An RFC 9457 problem document, as every error leaves Kai. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'https://kai.dev/problems/not_found' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'Stable; clients may branch on it.' }),
    requestId: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'For validation_failed: each failing field.' }),
  })
  .passthrough()
  .openapi('Problem');

/** The OpenAPI response entry of a problem with `status`, for `createRoute({ responses })`. */
export function problem(description: string) {
  return {
    description,
    content: { 'application/problem+json': { schema: ProblemSchema } },
  };
}

/** The OpenAPI response entry of a JSON answer, for `createRoute({ responses })`. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** The request part of a route that takes a required JSON body, for `createRoute({ request })`. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { required: true, content: { 'application/json': { schema } } } };
}

/** The problems any authenticated route can answer with. */
export const AUTH_PROBLEMS = {
  401: problem('No credentials, or credentials that do not verify.'),
  403: problem('Credentials that lack the scope this route needs.'),
} as const;

/** The security requirement of routes that take a Supabase JWT or a Kai API key. */
export const BEARER_SECURITY = [{ bearer: [] }];

/** The `{id}` path parameter of a resource named by a UUID. */
export const IdParam = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, description: 'The resource id' }),
});
