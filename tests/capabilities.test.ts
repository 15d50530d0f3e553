import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedCapabilities, detectCapabilities, requireVector } from '../core/db/capabilities.ts';
import type { Queryable } from '../core/db/database.ts';
import { CapabilityUnavailableError } from '../core/errors.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb.drop();
});

describe('database capabilities', () => {
  it('reports pgvector exactly when the server has it available', async () => {
    const [available] = await testDb.db.query<{ vector: boolean }>(
      `select exists (select 1 from pg_available_extensions where name = 'vector') as vector`,
    );

    const capabilities = await detectCapabilities(testDb.db);

    expect(capabilities.vector).toBe(available?.vector);
    // PGlite ships pgvector; Debian's Postgres 15 on this machine does not.
    expect(capabilities.vector).toBe(testDb.driver === 'pglite');
  });

  it('answers capability_unavailable for vector features where pgvector is missing', async () => {
    const capabilities = await detectCapabilities(testDb.db);

    const attempt = () => requireVector(capabilities, 'Similar-material search');

    if (capabilities.vector) {
      expect(attempt).not.toThrow();
      const [row] = await testDb.db.query<{ distance: number }>(
        `select '[1,0]'::extensions.vector operator(extensions.<=>) '[0,1]'::extensions.vector
           as distance`,
      );
      expect(row?.distance).toBeCloseTo(1);
    } else {
      expect(attempt).toThrow(CapabilityUnavailableError);
      expect(attempt).toThrow(/needs the pgvector extension/);
      try {
        attempt();
      } catch (error) {
        expect(error).toMatchObject({ code: 'capability_unavailable', status: 503 });
      }
    }
  });

  it('asks the database once when cached, and again after a failed ask', async () => {
    let asked = 0;
    let failNext = true;
    const counting: Queryable = {
      query: async (text, params) => {
        asked += 1;
        if (failNext) {
          failNext = false;
          throw new Error('connection reset');
        }
        return await testDb.db.query(text, params);
      },
      exec: (script) => testDb.db.exec(script),
    };
    const capabilitiesOf = cachedCapabilities(counting);

    await expect(capabilitiesOf()).rejects.toThrow('connection reset');
    const [first, second] = await Promise.all([capabilitiesOf(), capabilitiesOf()]);
    await capabilitiesOf();

    expect(asked).toBe(2);
    expect(first).toEqual(await detectCapabilities(testDb.db));
    expect(second).toBe(first);
  });
});
