import type { Queryable } from '../db/database.ts';
import { ValidationError } from '../errors.ts';
import { recordEvent } from '../events/record-event.ts';
import { type ParamValues, paramsSchemaOf } from '../studies/search-space.ts';
import { findMaterialType } from './material-types.ts';
import { UnknownParameterSetError } from './registry-errors.ts';
import { getTask, type RegistryTask } from './tasks.ts';

/** Where a version's values came from. */
export type VersionSource = 'seed' | 'manual' | 'suggestion' | 'study';

/** One immutable version of a parameter set. */
export interface ParameterSetVersion {
  id: string;
  setId: string;
  version: number;
  values: ParamValues;
  score: number | null;
  source: VersionSource;
  studyId: string | null;
  trialNumber: number | null;
  note: string | null;
  createdBy: string | null;
  createdAt: string;
}

/** A parameter set: a material's values for a task under a name, with its active version. */
export interface ParameterSet {
  id: string;
  materialId: string;
  materialSlug: string;
  task: string;
  name: string;
  active: ParameterSetVersion | null;
  /** The version with the best score in the task's direction; null when none is scored. */
  best: ParameterSetVersion | null;
  updatedBy: string | null;
  updatedAt: string;
}

/** One line of a set's history: who did what to which version, and when. */
export interface ParameterSetChange {
  action: 'created' | 'version_added' | 'activated' | 'pruned';
  version: number | null;
  actor: string | null;
  detail: Record<string, unknown>;
  at: string;
}

interface VersionRow {
  id: string;
  set_id: string;
  version: number;
  values: ParamValues;
  score: number | null;
  source: VersionSource;
  study_id: string | null;
  trial_number: number | null;
  note: string | null;
  created_by: string | null;
  created_at: Date | string;
}

const VERSION_COLUMNS = `v.id, v.set_id, v.version, v."values", v.score, v.source, v.study_id,
  v.trial_number, v.note, v.created_by, v.created_at`;

function versionFromRow(row: VersionRow): ParameterSetVersion {
  return {
    id: row.id,
    setId: row.set_id,
    version: row.version,
    values: row.values,
    score: row.score,
    source: row.source,
    studyId: row.study_id,
    trialNumber: row.trial_number,
    note: row.note,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** Which set: a material (slug or id), a task and a set name. */
export interface SetRef {
  material: string;
  task: string;
  set: string;
}

/** What a new version holds. */
export interface NewVersion {
  values: ParamValues;
  score?: number | null | undefined;
  source: VersionSource;
  note?: string | undefined;
  studyId?: string | undefined;
  trialNumber?: number | undefined;
  /** Make it the active version at once. */
  activate: boolean;
}

/** Checks `values` against the task's space (every parameter, nothing else, each in range). */
export function validateValues(task: RegistryTask, values: unknown): ParamValues {
  const parsed = paramsSchemaOf(task.space).safeParse(values);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    `The values do not fit the parameter space of task ${task.name}.`,
    parsed.error.issues.map((issue) => ({
      path: ['values', ...issue.path].join('.'),
      message: issue.message,
    })),
  );
}

/**
 * Adds a version to a set, creating the set on its first version, and logs who did it. Run it
 * in a transaction: the set's row is locked so concurrent writers get consecutive versions.
 */
export async function addParameterSetVersion(
  tx: Queryable,
  ref: SetRef,
  input: NewVersion,
  actor: string | null,
): Promise<ParameterSet> {
  const material = await findMaterialType(tx, ref.material);
  const task = await getTask(tx, ref.task);
  const values = validateValues(task, input.values);

  // The set: created on its first version; locked, so versions are numbered one at a time.
  const created = await tx.query<{ id: string }>(
    `insert into public.parameter_sets (material_id, task, name, created_by, updated_by)
     values ($1, $2, $3, $4, $4)
     on conflict (material_id, task, name) do nothing
     returning id`,
    [material.id, task.name, ref.set, actor],
  );
  const [set] = await tx.query<{ id: string; next_version: number }>(
    `select id, next_version from public.parameter_sets
     where material_id = $1 and task = $2 and name = $3 for update`,
    [material.id, task.name, ref.set],
  );
  if (!set) throw new Error(`The parameter set ${ref.set} vanished while adding a version.`);
  if (created.length > 0) await logChange(tx, set.id, null, null, 'created', actor, {});

  const [version] = await tx.query<{ id: string }>(
    `insert into public.parameter_set_versions
       (set_id, version, "values", score, source, study_id, trial_number, note, created_by)
     values ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)
     returning id`,
    [
      set.id,
      set.next_version,
      values,
      input.score ?? null,
      input.source,
      input.studyId ?? null,
      input.trialNumber ?? null,
      input.note ?? null,
      actor,
    ],
  );
  const versionId = (version as { id: string }).id;
  await tx.query(
    `update public.parameter_sets
     set next_version = next_version + 1, updated_by = $2, updated_at = now(),
         active_version_id = case when $3::boolean then $4::uuid else active_version_id end
     where id = $1`,
    [set.id, actor, input.activate, versionId],
  );
  await logChange(tx, set.id, versionId, set.next_version, 'version_added', actor, {
    source: input.source,
  });
  if (input.activate) {
    await logChange(tx, set.id, versionId, set.next_version, 'activated', actor, {});
  }
  const updated = await getParameterSet(tx, ref);
  if (input.activate) await announceActivation(tx, updated, actor);
  return updated;
}

/**
 * Records `parameters.updated` in the transaction that changed the active version, for the
 * user who changed it (a system change, without an actor, reaches no one's webhooks).
 */
async function announceActivation(
  tx: Queryable,
  set: ParameterSet,
  actor: string | null,
): Promise<void> {
  await recordEvent(tx, {
    type: 'parameters.updated',
    ownerId: actor,
    subject: set.id,
    data: {
      material: set.materialSlug,
      task: set.task,
      set: set.name,
      version: set.active?.version ?? null,
      values: set.active?.values ?? null,
    },
  });
}

/** Points a set's active version at `version`; logged. Run in a transaction. */
export async function activateVersion(
  tx: Queryable,
  ref: SetRef,
  version: number,
  actor: string | null,
): Promise<ParameterSet> {
  const set = await getParameterSet(tx, ref);
  const [row] = await tx.query<{ id: string }>(
    'select id from public.parameter_set_versions where set_id = $1 and version = $2',
    [set.id, version],
  );
  if (!row) {
    throw new UnknownParameterSetError(
      `Parameter set ${ref.set} of ${ref.material} for ${ref.task} has no version ${version} ` +
        '(it may have been pruned); list its versions to pick another.',
    );
  }
  await tx.query(
    `update public.parameter_sets
     set active_version_id = $2, updated_by = $3, updated_at = now() where id = $1`,
    [set.id, row.id, actor],
  );
  await logChange(tx, set.id, row.id, version, 'activated', actor, {
    previous: set.active?.version ?? null,
  });
  const updated = await getParameterSet(tx, ref);
  await announceActivation(tx, updated, actor);
  return updated;
}

/** A set with its active and best versions, or `UnknownParameterSetError`. */
export async function getParameterSet(db: Queryable, ref: SetRef): Promise<ParameterSet> {
  const material = await findMaterialType(db, ref.material);
  const task = await getTask(db, ref.task);
  const sets = await setsOf(db, material.id, task, ref.set);
  const set = sets[0];
  if (!set) {
    throw new UnknownParameterSetError(
      `Material ${material.slug} has no parameter set ${JSON.stringify(ref.set)} for task ` +
        `${task.name}; add a version to create it, or ask for a suggestion.`,
    );
  }
  return set;
}

/** Every set of a material for a task (or only the one named), with active and best versions. */
export async function setsOf(
  db: Queryable,
  materialId: string,
  task: RegistryTask,
  name?: string,
): Promise<ParameterSet[]> {
  const rows = await db.query<{
    id: string;
    material_id: string;
    slug: string;
    task: string;
    name: string;
    updated_by: string | null;
    updated_at: Date | string;
    active: VersionRow | null;
    best: VersionRow | null;
  }>(
    `select s.id, s.material_id, m.slug, s.task, s.name, s.updated_by, s.updated_at,
       (select to_jsonb(v) from public.parameter_set_versions v where v.id = s.active_version_id)
         as active,
       (select to_jsonb(v) from public.parameter_set_versions v
        where v.set_id = s.id and v.score is not null
        order by case when $3 = 'maximize' then -v.score else v.score end, v.version desc
        limit 1) as best
     from public.parameter_sets s join public.material_types m on m.id = s.material_id
     where s.material_id = $1 and s.task = $2 and ($4::text is null or s.name = $4)
     order by s.name`,
    [materialId, task.name, task.scoreDirection, name ?? null],
  );
  return rows.map((row) => ({
    id: row.id,
    materialId: row.material_id,
    materialSlug: row.slug,
    task: row.task,
    name: row.name,
    active: row.active ? versionFromRow(row.active) : null,
    best: row.best ? versionFromRow(row.best) : null,
    updatedBy: row.updated_by,
    updatedAt: new Date(row.updated_at).toISOString(),
  }));
}

/** A set's versions, newest first. */
export async function listVersions(db: Queryable, setId: string): Promise<ParameterSetVersion[]> {
  const rows = await db.query<VersionRow>(
    `select ${VERSION_COLUMNS} from public.parameter_set_versions v
     where v.set_id = $1 order by v.version desc`,
    [setId],
  );
  return rows.map(versionFromRow);
}

/** A set's change log, newest first. */
export async function listChanges(db: Queryable, setId: string): Promise<ParameterSetChange[]> {
  const rows = await db.query<{
    action: ParameterSetChange['action'];
    version: number | null;
    actor: string | null;
    detail: Record<string, unknown>;
    at: Date | string;
  }>(
    `select action, version, actor, detail, at from public.parameter_set_changes
     where set_id = $1 order by at desc, id desc`,
    [setId],
  );
  return rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
}

async function logChange(
  tx: Queryable,
  setId: string,
  versionId: string | null,
  version: number | null,
  action: ParameterSetChange['action'],
  actor: string | null,
  detail: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `insert into public.parameter_set_changes (set_id, version_id, version, action, actor, detail)
     values ($1, $2, $3, $4, $5, $6::jsonb)`,
    [setId, versionId, version, action, actor, detail],
  );
}
