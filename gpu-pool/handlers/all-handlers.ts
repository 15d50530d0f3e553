import type { JobHandler } from './handler.ts';
import { noopHandler } from './noop-handler.ts';
import { syntheticMlpHandler } from './synthetic-mlp-handler.ts';

/** Every handler the pool runs, one per job type of `core/jobs/job-types.ts`. */
export const ALL_HANDLERS: readonly JobHandler[] = [
  noopHandler as JobHandler,
  syntheticMlpHandler as JobHandler,
];
