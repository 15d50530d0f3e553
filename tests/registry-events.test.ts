// A change of a parameter set's active version is announced (`parameters.updated`) in the
// transaction that made it, to the user who made it; a version added inactive announces nothing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateVersion, addParameterSetVersion } from '../core/registry/parameter-sets.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb?.drop();
});

const values = (k: number) => ({
  k,
  temperature: 1,
  minConfidence: 0.5,
  vote: 'similarity_weighted',
});

const eventsOf = (ownerId: string) =>
  testDb.db.query<{ type: string; data: Record<string, unknown> }>(
    'select type, data from kai.events where owner_id = $1 order by occurred_at',
    [ownerId],
  );

describe('parameters.updated', () => {
  it('is recorded when a version becomes active, with what it now is', async () => {
    const actor = randomUUID();
    const ref = { material: 'walnut', task: 'material.classify', set: 'events' };
    const { db } = testDb;

    await db.transaction((tx) =>
      addParameterSetVersion(
        tx,
        ref,
        { values: values(5), source: 'manual', activate: true },
        actor,
      ),
    );
    await db.transaction((tx) =>
      addParameterSetVersion(
        tx,
        ref,
        { values: values(9), source: 'manual', activate: false },
        actor,
      ),
    );
    expect(await eventsOf(actor)).toHaveLength(1);

    await db.transaction((tx) => activateVersion(tx, ref, 2, actor));

    const events = await eventsOf(actor);
    expect(events.map((e) => e.type)).toEqual(['parameters.updated', 'parameters.updated']);
    expect(events[1]?.data).toMatchObject({
      material: 'walnut',
      task: 'material.classify',
      set: 'events',
      version: 2,
      values: { k: 9 },
    });
  });

  it('is not recorded when the change rolls back', async () => {
    const actor = randomUUID();
    const ref = { material: 'walnut', task: 'material.classify', set: 'rolled-back' };
    await expect(
      testDb.db.transaction(async (tx) => {
        await addParameterSetVersion(
          tx,
          ref,
          { values: values(3), source: 'manual', activate: true },
          actor,
        );
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await eventsOf(actor)).toEqual([]);
  });
});
