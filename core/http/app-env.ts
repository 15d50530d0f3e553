import type { Logger } from '../logging/logger.ts';

/** The variables Kai's middleware sets on every request's context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The root logger scoped to this request (`requestId`). */
    logger: Logger;
  };
}
