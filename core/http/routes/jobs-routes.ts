import type { ApiDeps } from '../app-env.ts';
import { createRouter } from '../openapi.ts';

/** The job routes under `/v1/jobs`. */
export function jobsRoutes(_deps: ApiDeps) {
  return createRouter();
}
