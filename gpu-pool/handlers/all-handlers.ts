import type { JobHandler } from './handler.ts';
import { noopHandler } from './noop-handler.ts';

/** Every handler the pool runs, one per job type of `core/jobs/job-types.ts`. */
export const ALL_HANDLERS: readonly JobHandler[] = [noopHandler as JobHandler];
