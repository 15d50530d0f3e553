import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import { type DatabaseCapabilities, detectCapabilities } from '../core/db/capabilities.ts';
import type { Database } from '../core/db/database.ts';
import { blendParameters } from '../core/registry/blend-parameters.ts';
import { cosineSimilarity } from '../core/registry/material-properties.ts';
import {
  createMaterialType,
  findMaterialType,
  listMaterialTypes,
} from '../core/registry/material-types.ts';
import { nearestMaterials } from '../core/registry/nearest-materials.ts';
import { addParameterSetVersion } from '../core/registry/parameter-sets.ts';
import { suggestParameters } from '../core/registry/suggest-parameters.ts';
import { getTask } from '../core/registry/tasks.ts';
import type { SearchSpace } from '../core/studies/search-space.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let db: Database;
let capabilities: DatabaseCapabilities;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  capabilities = await detectCapabilities(db);
});

afterAll(async () => {
  await testDb.drop();
});

const suggest = (material: string, threshold: number = DEFAULTS.SIMILARITY_THRESHOLD) =>
  suggestParameters(db, capabilities, {
    material,
    task: 'material.classify',
    threshold,
    limit: 5,
    defaultSet: DEFAULTS.DEFAULT_PARAMETER_SET,
  });

describe('nearest materials', () => {
  it('finds the other woods nearest to oak, with their cosine similarity', async () => {
    const oak = await findMaterialType(db, 'oak');
    const { method, neighbours } = await nearestMaterials(db, capabilities, {
      vector: oak.propertyVector,
      limit: 3,
      minSimilarity: 0,
      excludeId: oak.id,
    });

    expect(method).toBe(capabilities.vector ? 'hnsw' : 'exact');
    expect(neighbours.slice(0, 2).map((n) => n.slug)).toEqual(['walnut', 'maple']);
    const walnut = await findMaterialType(db, 'walnut');
    expect(neighbours[0]?.similarity).toBeCloseTo(
      cosineSimilarity(oak.propertyVector, walnut.propertyVector),
      5,
    );
  });

  it('agrees with an exact scan in JavaScript, whichever method the database uses', async () => {
    const all = await listMaterialTypes(db, { limit: 1000 });
    for (const probe of all) {
      const expected = all
        .filter((m) => m.id !== probe.id)
        .map((m) => ({ slug: m.slug, s: cosineSimilarity(probe.propertyVector, m.propertyVector) }))
        .filter((m) => m.s >= 0.5)
        .sort((a, b) => b.s - a.s)
        .slice(0, 5);
      for (const caps of [capabilities, { vector: false }]) {
        const { neighbours } = await nearestMaterials(db, caps, {
          vector: probe.propertyVector,
          limit: 5,
          minSimilarity: 0.5,
          excludeId: probe.id,
        });
        expect(neighbours.map((n) => n.similarity)).toEqual(
          expected.map((e) => expect.closeTo(e.s, 5)),
        );
      }
    }
  });
});

describe('suggestions', () => {
  it('blends the best scored sets of similar materials, weighted by similarity', async () => {
    const ref = (material: string) => ({ material, task: 'material.classify', set: 'tuned' });
    await db.transaction(async (tx) => {
      await addParameterSetVersion(
        tx,
        ref('walnut'),
        {
          values: { k: 20, temperature: 0.1, minConfidence: 0.2, vote: 'majority' },
          score: 0.9,
          source: 'manual',
          activate: true,
        },
        null,
      );
      await addParameterSetVersion(
        tx,
        ref('maple'),
        {
          values: { k: 30, temperature: 1, minConfidence: 0.4, vote: 'similarity_weighted' },
          score: 0.8,
          source: 'manual',
          activate: true,
        },
        null,
      );
    });

    const suggestion = await suggest('oak');

    expect(suggestion.source).toBe('neighbours');
    expect(suggestion.reason).toBeNull();
    const bySlug = new Map(suggestion.neighbours.map((n) => [n.slug, n]));
    const walnut = bySlug.get('walnut');
    const maple = bySlug.get('maple');
    expect(walnut).toMatchObject({ set: 'tuned', score: 0.9, values: { k: 20 } });
    expect(maple).toMatchObject({ set: 'tuned', score: 0.8, values: { k: 30 } });
    for (const n of suggestion.neighbours) expect(n.similarity).toBeGreaterThanOrEqual(0.75);
    // Neighbours without a scored set bring their standard set: k from every neighbour.
    const weights = suggestion.neighbours.map((n) => n.similarity);
    const ks = suggestion.neighbours.map((n) => n.values.k as number);
    const meanK =
      ks.reduce((s, k, i) => s + k * (weights[i] as number), 0) /
      weights.reduce((a, b) => a + b, 0);
    expect(suggestion.values.k).toBe(Math.round(meanK));
    expect(suggestion.values.temperature).toBeGreaterThan(0.01);
  });

  it('falls back to the material default set when no material is similar enough, and says why', async () => {
    const suggestion = await suggest('oak', 0.9999);

    expect(suggestion).toMatchObject({
      source: 'default',
      fallback: 'material_default_set',
      neighbours: [],
    });
    expect(suggestion.reason).toContain('0.9999');
    const oakStandard = { k: 10, temperature: 1, minConfidence: 0.5, vote: 'similarity_weighted' };
    expect(suggestion.values).toEqual(oakStandard);
  });

  it("falls back to the task's defaults for a new material without neighbours or sets", async () => {
    await createMaterialType(
      db,
      {
        slug: 'aerogel',
        name: 'Silica aerogel',
        category: 'other',
        properties: {
          densityKgM3: 100,
          mohsHardness: 10,
          porosity: 0,
          gloss60Gu: 100,
          roughnessRaUm: 100,
          grainScaleMm: 0.01,
          colorVariation: 1,
          thermalConductivityWmK: 500,
        },
      },
      null,
    );

    const suggestion = await suggest('aerogel', 0.95);
    const task = await getTask(db, 'material.classify');

    expect(suggestion).toMatchObject({ source: 'default', fallback: 'task_defaults' });
    expect(suggestion.values).toEqual(task.defaults);
  });
});

describe('blendParameters', () => {
  const space: SearchSpace = {
    lr: { type: 'float', low: 1e-4, high: 1, log: true },
    step: { type: 'float', low: 0, high: 1, step: 0.25 },
    n: { type: 'int', low: 1, high: 10 },
    mode: { type: 'categorical', choices: ['a', 'b', 'c'] },
  };

  it('means log scales geometrically, snaps to grids and votes categories by weight', () => {
    const values = blendParameters(
      space,
      [
        { similarity: 0.9, values: { lr: 1e-3, step: 0.25, n: 2, mode: 'a' } },
        { similarity: 0.8, values: { lr: 1e-1, step: 0.75, n: 9, mode: 'b' } },
        { similarity: 0.2, values: { lr: 1e-1, step: 1, n: 9, mode: 'b' } },
      ],
      { lr: 0.01, step: 0, n: 1, mode: 'c' },
    );

    const logMean = (0.9 * -3 + 0.8 * -1 + 0.2 * -1) / 1.9;
    expect(values.lr).toBeCloseTo(10 ** logMean, 10);
    expect(values.step).toBe(0.5);
    expect(values.n).toBe(Math.round((0.9 * 2 + 0.8 * 9 + 0.2 * 9) / 1.9));
    expect(values.mode).toBe('b');
  });

  it('gives a tie to the most similar neighbour and a missing value to the fallback', () => {
    const values = blendParameters(
      space,
      [
        { similarity: 0.5, values: { lr: 0.1, mode: 'c' } },
        { similarity: 0.5, values: { lr: 0.1, mode: 'a' } },
      ],
      { lr: 0.01, step: 0.25, n: 3, mode: 'b' },
    );
    expect(values).toMatchObject({ step: 0.25, n: 3, mode: 'c' });
  });
});
