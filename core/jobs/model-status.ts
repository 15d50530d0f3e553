import type { Queryable } from '../db/database.ts';
import { JOB_TYPES } from './job-types.ts';

/** A pool's report of one model, as `kai.pool_models` keeps it. */
export interface PoolModelReport {
  name: string;
  version: string;
  versions: string[];
  ready: boolean;
  reason?: string | undefined;
  provider?: string | undefined;
  description: string;
  synthetic: boolean;
}

/** How long a pool's report counts without a refresh: a pool that vanished stops counting. */
export const MODEL_REPORT_TTL_MS = 2 * 60_000;

/** Replaces this pool's reports with `models`; an empty list withdraws them. */
export async function reportPoolModels(
  db: Queryable,
  workerId: string,
  models: readonly PoolModelReport[],
): Promise<void> {
  await db.query('delete from kai.pool_models where worker_id = $1', [workerId]);
  if (models.length === 0) return;

  await db.query(
    `insert into kai.pool_models
       (worker_id, name, version, versions, ready, reason, provider, description, synthetic)
     select $1, m.name, m.version, m.versions, m.ready, m.reason, m.provider, m.description,
            m.synthetic
     from jsonb_to_recordset($2::jsonb) as m(
       name text, version text, versions text[], ready boolean, reason text, provider text,
       description text, synthetic boolean
     )`,
    [workerId, models],
  );
}

/** Keeps this pool's reports current. */
export async function refreshPoolModels(db: Queryable, workerId: string): Promise<void> {
  await db.query('update kai.pool_models set reported_at = now() where worker_id = $1', [workerId]);
}

/** What `GET /v1/models` answers. */
export interface ModelsOverview {
  models: (Omit<PoolModelReport, 'reason' | 'provider'> & {
    reason: string | null;
    provider: string | null;
    /** Pools that report the model ready. */
    readyPools: number;
  })[];
  jobTypes: { type: string; description: string; model: string | null; available: boolean }[];
}

/**
 * Combines the live pools' reports: a model is ready when at least one pool serves it, and a
 * job type is available when it needs no model or its model is ready somewhere.
 */
export async function modelsOverview(db: Queryable): Promise<ModelsOverview> {
  const rows = await db.query<{
    name: string;
    version: string;
    versions: string[];
    ready: boolean;
    reason: string | null;
    provider: string | null;
    description: string;
    synthetic: boolean;
    ready_pools: number;
  }>(
    `select distinct on (name) name, version, versions, ready, reason, provider, description,
            synthetic,
            (count(*) filter (where ready) over (partition by name))::int as ready_pools
     from kai.pool_models
     where reported_at > now() - $1 * interval '1 millisecond'
     order by name, ready desc, version desc`,
    [MODEL_REPORT_TTL_MS],
  );

  const models = rows.map(({ ready_pools, ...row }) => ({ ...row, readyPools: ready_pools }));
  const readyModels = new Set(models.filter((m) => m.readyPools > 0).map((m) => m.name));
  const jobTypes = [...JOB_TYPES.values()].map((t) => ({
    type: t.type,
    description: t.description,
    model: t.model,
    available: t.model === null || readyModels.has(t.model),
  }));
  return { models, jobTypes };
}
