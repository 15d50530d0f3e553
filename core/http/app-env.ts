import type { Auth } from '../auth/caller.ts';
import type { Database } from '../db/database.ts';
import type { JobReader } from '../jobs/job-reader.ts';
import type { JobSubmitter } from '../jobs/job-submitter.ts';
import type { Logger } from '../logging/logger.ts';
import type { QueueClasses } from '../queue/queue-classes.ts';
import type { RegistrySettings } from '../registry/registry-settings.ts';
import type { ObjectStorage } from '../storage/object-storage.ts';

/** The variables Kai's middleware sets on every request's context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The root logger scoped to this request (`requestId`). */
    logger: Logger;
    /**
     * The authenticated caller, or undefined for a request without credentials. Routes read
     * it through `callerOf(c, { scope })`, which turns undefined into a 401.
     */
    auth: Auth | undefined;
  };
}

/**
 * What route factories receive (`xRoutes(deps)`): the API's own database connection (run
 * user-scoped work through `asCaller(deps.db, auth, work)`), the root logger (prefer the
 * request's, `c.get('logger')`), the storage port and the queue classes.
 */
export interface ApiDeps {
  db: Database;
  logger: Logger;
  /** Undefined when no storage is configured; uploads are then refused with a 503. */
  storage: ObjectStorage | undefined;
  /** The largest upload or base64 input accepted (UPLOAD_MAX_BYTES). */
  maxUploadBytes: number;
  queueClasses: QueueClasses;
  /** Where `POST /v1/jobs` enqueues: as the caller, many submissions to a commit under load. */
  jobSubmitter: JobSubmitter;
  /** Where `GET /v1/jobs/{id}` reads: as the caller, the reads of one turn in one round trip. */
  jobReader: JobReader;
  /** What `parameters` in a submission resolve against (PARAM_REGISTRY_ENABLED and friends). */
  registry: RegistrySettings;
}
