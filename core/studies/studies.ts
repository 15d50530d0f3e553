import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from '../db/database.ts';
import { ValidationError } from '../errors.ts';
import { findMaterialType } from '../registry/material-types.ts';
import { getTask } from '../registry/tasks.ts';
import {
  type PrunerOptions,
  prunerOptionsSchema,
  type SamplerOptions,
  samplerOptionsSchema,
} from './sampler-options.ts';
import { type ParamValues, type SearchSpace, searchSpaceSchema } from './search-space.ts';
import { UnknownStudyError } from './study-errors.ts';
import type { Direction } from './trial-history.ts';

/** The largest trial budget a study may have (`maxTrials`), as the table's check allows. */
export const MAX_TRIALS_LIMIT = 100_000;

/** A study's trial budget: finished trials after which it completes; null for none. */
export const maxTrialsSchema = z.number().int().min(1).max(MAX_TRIALS_LIMIT).nullable();

/** What a caller gives to create a study. */
export const newStudySchema = z.strictObject({
  name: z.string().min(1).max(200),
  /** A material type (slug or id): needed for warm starts and promotion. */
  material: z.string().min(1).max(100).optional(),
  /** A registry task: its space is the default space, and promotion writes to its sets. */
  task: z.string().min(1).max(100).optional(),
  space: searchSpaceSchema.optional(),
  direction: z.enum(['minimize', 'maximize']).default('minimize'),
  sampler: samplerOptionsSchema.prefault({ type: 'tpe' }),
  pruner: prunerOptionsSchema.prefault({ type: 'median' }),
  heartbeatTimeoutMs: z.number().int().min(1000).max(86_400_000).default(120_000),
  /**
   * The trial budget, as Optuna's `n_trials`: once this many trials finished (complete, pruned
   * or failed), the study completes. No more trials than this are handed out.
   */
  // Limitation: the budget is set at creation only; no route changes it, so a study that
  // needs more trials goes on as a new one, warm-started from this one.
  maxTrials: maxTrialsSchema.default(null),
});

export type NewStudy = z.input<typeof newStudySchema>;

/** A study with its settings; the sampler's seed is always set (chosen at creation if not). */
export interface Study {
  id: string;
  ownerId: string | null;
  name: string;
  materialId: string | null;
  task: string | null;
  space: SearchSpace;
  direction: Direction;
  sampler: SamplerOptions & { seed: number };
  pruner: PrunerOptions;
  heartbeatTimeoutMs: number;
  /** `running` until it completes (explicitly or by its budget); `completed` for good. */
  status: StudyStatus;
  /** The trial budget, or null for none. */
  maxTrials: number | null;
  createdAt: string;
  completedAt: string | null;
}

/** Whether a study still hands out trials. */
export type StudyStatus = 'running' | 'completed';

/** A trial as the API shows it. */
export interface Trial {
  id: string;
  studyId: string;
  number: number;
  state: 'waiting' | 'running' | 'complete' | 'pruned' | 'failed';
  params: ParamValues;
  source: 'sampler' | 'enqueued' | 'warm_start' | 'retry';
  origin: Record<string, unknown> | null;
  value: number | null;
  workerId: string | null;
  failReason: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A row of `public.studies`. */
export interface StudyRow {
  id: string;
  owner_id: string | null;
  name: string;
  material_id: string | null;
  task: string | null;
  space: SearchSpace;
  direction: Direction;
  sampler: SamplerOptions & { seed: number };
  pruner: PrunerOptions;
  heartbeat_timeout_ms: number;
  next_trial_number: number;
  status: StudyStatus;
  max_trials: number | null;
  created_at: Date | string;
  completed_at: Date | string | null;
}

/** A row of `public.study_trials`. */
export interface TrialRow {
  id: string;
  study_id: string;
  number: number;
  state: Trial['state'];
  params: ParamValues;
  source: Trial['source'];
  origin: Record<string, unknown> | null;
  value: number | null;
  worker_id: string | null;
  fail_reason: string | null;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** Maps a study's row to the study as the API shows it. */
export function studyFromRow(row: StudyRow): Study {
  return {
    id: row.id,
    ownerId: row.owner_id,
    name: row.name,
    materialId: row.material_id,
    task: row.task,
    space: row.space,
    direction: row.direction,
    sampler: row.sampler,
    pruner: row.pruner,
    heartbeatTimeoutMs: row.heartbeat_timeout_ms,
    status: row.status,
    maxTrials: row.max_trials,
    createdAt: new Date(row.created_at).toISOString(),
    completedAt: iso(row.completed_at),
  };
}

/** Maps a trial's row to the trial as the API shows it. */
export function trialFromRow(row: TrialRow): Trial {
  return {
    id: row.id,
    studyId: row.study_id,
    number: row.number,
    state: row.state,
    params: row.params,
    source: row.source,
    origin: row.origin,
    value: row.value,
    workerId: row.worker_id,
    failReason: row.fail_reason,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

/**
 * Creates a study. Its space is the given one or its task's; a given space must lie within the
 * task's (same parameters or fewer, each a legal distribution) only when promotion is used, so
 * it is not checked here. The sampler's seed is fixed now, so the study can be replayed.
 */
export async function createStudy(
  db: Queryable,
  input: NewStudy,
  ownerId: string | null,
): Promise<Study> {
  const parsed = newStudySchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(
      'The study does not validate.',
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const study = parsed.data;

  const material = study.material ? await findMaterialType(db, study.material) : undefined;
  const task = study.task ? await getTask(db, study.task) : undefined;
  const space = study.space ?? task?.space;
  if (!space) {
    throw new ValidationError('A study needs a search space: give `space` or a registry `task`.', [
      { path: 'space', message: 'required without a task' },
    ]);
  }
  const sampler = { ...study.sampler, seed: study.sampler.seed ?? randomInt(2 ** 32 - 1) };

  const [row] = await db.query<StudyRow>(
    `insert into public.studies
       (owner_id, name, material_id, task, space, direction, sampler, pruner,
        heartbeat_timeout_ms, max_trials)
     values ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8::jsonb, $9, $10)
     returning *`,
    [
      ownerId,
      study.name,
      material?.id ?? null,
      task?.name ?? null,
      space,
      study.direction,
      sampler,
      study.pruner,
      study.heartbeatTimeoutMs,
      study.maxTrials,
    ],
  );
  return studyFromRow(row as StudyRow);
}

/** The study, or `UnknownStudyError`; with `lock`, its row is locked for the transaction. */
export async function getStudy(
  db: Queryable,
  studyId: string,
  options: { lock?: boolean } = {},
): Promise<Study & { nextTrialNumber: number }> {
  if (!z.uuid().safeParse(studyId).success) throw new UnknownStudyError(studyId);
  const [row] = await db.query<StudyRow>(
    `select * from public.studies where id = $1 ${options.lock ? 'for update' : ''}`,
    [studyId],
  );
  if (!row) throw new UnknownStudyError(studyId);
  return { ...studyFromRow(row), nextTrialNumber: row.next_trial_number };
}

/** The study's trials by number, optionally of some states only. */
export async function listTrials(
  db: Queryable,
  studyId: string,
  options: { states?: readonly Trial['state'][]; limit?: number; after?: number } = {},
): Promise<Trial[]> {
  const rows = await db.query<TrialRow>(
    `select * from public.study_trials
     where study_id = $1
       and ($2::jsonb is null or state in (select jsonb_array_elements_text($2::jsonb -> 'v')))
       and number > $3
     order by number limit $4`,
    [
      studyId,
      options.states ? { v: options.states } : null,
      options.after ?? -1,
      options.limit ?? 10_000,
    ],
  );
  return rows.map(trialFromRow);
}

/** How many trials the study has in each state, and its best complete trial. */
export async function summarizeStudy(
  db: Queryable,
  study: Study,
): Promise<{ counts: Record<Trial['state'], number>; best: Trial | null }> {
  const rows = await db.query<{ state: Trial['state']; n: number }>(
    'select state, count(*)::int as n from public.study_trials where study_id = $1 group by state',
    [study.id],
  );
  const counts = { waiting: 0, running: 0, complete: 0, pruned: 0, failed: 0 };
  for (const r of rows) counts[r.state] = r.n;
  const [best] = await db.query<TrialRow>(
    `select * from public.study_trials where study_id = $1 and state = 'complete'
     order by value ${study.direction === 'minimize' ? 'asc' : 'desc'}, number limit 1`,
    [study.id],
  );
  return { counts, best: best ? trialFromRow(best) : null };
}
