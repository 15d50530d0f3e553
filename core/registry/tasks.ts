import type { Queryable } from '../db/database.ts';
import { type ParamValues, type SearchSpace, searchSpaceSchema } from '../studies/search-space.ts';
import type { Direction } from '../studies/trial-history.ts';
import { UnknownTaskError } from './registry-errors.ts';

/** A task the registry keeps parameters for, with the space its values must fit. */
export interface RegistryTask {
  name: string;
  description: string;
  space: SearchSpace;
  /** The values used when neither the material nor its neighbours have a set. */
  defaults: ParamValues;
  /** Whether a higher version score is better (`maximize`) or a lower one. */
  scoreDirection: Direction;
}

interface TaskRow {
  name: string;
  description: string;
  space: unknown;
  defaults: ParamValues;
  score_direction: Direction;
}

function taskFromRow(row: TaskRow): RegistryTask {
  return {
    name: row.name,
    description: row.description,
    space: searchSpaceSchema.parse(row.space),
    defaults: row.defaults,
    scoreDirection: row.score_direction,
  };
}

/** The task named `name`, or `UnknownTaskError`. */
export async function getTask(db: Queryable, name: string): Promise<RegistryTask> {
  const [row] = await db.query<TaskRow>(
    'select name, description, space, defaults, score_direction from public.registry_tasks where name = $1',
    [name],
  );
  if (!row) throw new UnknownTaskError(name);
  return taskFromRow(row);
}

/** Every task, by name. */
export async function listTasks(db: Queryable): Promise<RegistryTask[]> {
  const rows = await db.query<TaskRow>(
    'select name, description, space, defaults, score_direction from public.registry_tasks order by name',
  );
  return rows.map(taskFromRow);
}
