import { z } from 'zod';
import type { Queryable } from '../db/database.ts';

/** One queue class: how many of its jobs may run at once, over all pools, and its share. */
export interface QueueClass {
  concurrency: number;
  weight: number;
}

export type QueueClasses = Record<string, QueueClass>;

/** The shape of `KAI_QUEUES`: class name to concurrency and weight. */
export const queueClassesSchema = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, { error: 'names a class in lowercase letters' }),
    z.object({
      concurrency: z.number().int().min(1).max(100_000),
      weight: z.number().int().min(1).max(1_000_000),
    }),
  )
  .refine((classes) => Object.keys(classes).length > 0, { error: 'defines at least one class' });

/**
 * Writes the configured classes to `kai.queue_classes`, where claims read them, so that every
 * pool process and pod shares one concurrency limit per class. A class dropped from the config
 * is removed; its waiting jobs stay until it comes back.
 */
export async function syncQueueClasses(db: Queryable, classes: QueueClasses): Promise<void> {
  const names = Object.keys(classes);
  await db.query(
    `insert into kai.queue_classes (name, concurrency, weight)
     select * from unnest($1::text[], $2::int[], $3::int[])
     on conflict (name) do update
       set concurrency = excluded.concurrency, weight = excluded.weight, updated_at = now()
       where (queue_classes.concurrency, queue_classes.weight)
         is distinct from (excluded.concurrency, excluded.weight)`,
    [names, names.map((n) => classes[n]?.concurrency), names.map((n) => classes[n]?.weight)],
  );
  await db.query('delete from kai.queue_classes where not (name = any($1::text[]))', [names]);
}
