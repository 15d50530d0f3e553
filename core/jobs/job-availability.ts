import { detectCapabilities, requireVector } from '../db/capabilities.ts';
import type { Queryable } from '../db/database.ts';
import { KaiError } from '../errors.ts';
import type { JobType } from './job-types.ts';
import { MODEL_REPORT_TTL_MS } from './model-status.ts';

/** A job type whose model no running pool can serve, such as one whose weights are missing. */
export class ModelUnavailableError extends KaiError {
  constructor(type: string, model: string) {
    super(
      {
        code: 'model_unavailable',
        status: 503,
        title: 'Model unavailable',
        detail:
          `Job type ${type} needs the model ${model}, which no running pool serves: its ` +
          'weights are not installed in MODEL_DIR. GET /v1/models says why; install the ' +
          'weights and restart the pool.',
      },
      { extensions: { model, type } },
    );
  }
}

/**
 * Refuses, before anything is queued, a job that cannot run here: one that needs pgvector on a
 * database without it (`capability_unavailable`), or one whose type refuses to wait for its
 * model while pools are running and none of them serves it ready (`model_unavailable`). With
 * no live pool at all the job is accepted: pools may be scaled to zero and start on demand.
 */
export async function assertJobTypeAvailable(db: Queryable, jobType: JobType): Promise<void> {
  if (jobType.needsVector) {
    requireVector(await detectCapabilities(db), `Job type ${jobType.type}`);
  }
  if (!jobType.refuseWithoutReadyModel || jobType.model === null) return;

  const [row] = await db.query<{ live: boolean; ready: boolean }>(
    'select live, ready from public.kai_model_availability($1, $2)',
    [jobType.model, MODEL_REPORT_TTL_MS],
  );
  if (row?.live && !row.ready) throw new ModelUnavailableError(jobType.type, jobType.model);
}
