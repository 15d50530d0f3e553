import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { KaiError } from '../errors.ts';

/** Where the `type` URIs of Kai's problems point; each code has its own fragment. */
const PROBLEM_TYPE_BASE = 'https://kai.dev/problems/';

/** An RFC 9457 problem document, as every error leaves Kai's HTTP edge. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string | undefined;
  [extension: string]: unknown;
}

/** Builds the problem document for a domain error. */
export function problemOf(error: KaiError, requestId: string | undefined): Problem {
  return {
    ...error.extensions,
    type: `${PROBLEM_TYPE_BASE}${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    requestId,
  };
}

/** Answers with a problem document and the `application/problem+json` media type. */
export function problemResponse(c: Context, error: KaiError): Response {
  const problem = problemOf(error, c.get('requestId'));
  return c.body(JSON.stringify(problem), problem.status as ContentfulStatusCode, {
    'content-type': 'application/problem+json',
  });
}

/** The bare 500 for errors that are not Kai's own: no message, only the request id. */
export function internalErrorResponse(c: Context): Response {
  return problemResponse(
    c,
    new KaiError({
      code: 'internal_error',
      status: 500,
      title: 'Internal error',
      detail: 'Kai failed to handle this request. Quote the request id when reporting it.',
    }),
  );
}
