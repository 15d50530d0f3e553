// material.classify run with registry sets: a catalog built so that k, the vote and
// minConfidence each decide the answer, and sets created and activated through the registry's
// core functions, named by `parameters` on POST /v1/jobs.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogItem } from '../core/catalog/catalog-item.ts';
import type { CatalogNeighbour } from '../core/catalog/nearest-items.ts';
import { createApp } from '../core/http/app.ts';
import { createLogger } from '../core/logging/logger.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { addParameterSetVersion } from '../core/registry/parameter-sets.ts';
import type { ParamValues } from '../core/studies/search-space.ts';
import type { ParametersUsed } from '../gpu-pool/handlers/parameters-used.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { startTexturePool, stripesPng, textureModelDir, waitForJobs } from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const CLASSES = {
  interactive: { concurrency: 20, weight: 10 },
  batch: { concurrency: 20, weight: 5 },
  maintenance: { concurrency: 5, weight: 1 },
};
const user = randomUUID();
let testDb: TestDatabase;
let app: ReturnType<typeof createApp>;

interface ClassifyResult {
  materialClass: string | null;
  bestClass: string;
  confidence: number;
  confident: boolean;
  votes: { materialClass: string; share: number }[];
  neighbours: CatalogNeighbour[];
  parameters?: ParametersUsed;
}

async function post(path: string, body: unknown) {
  const response = await app.request(path, {
    method: 'POST',
    headers: { ...(await bearer(user)), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Writes and activates a material.classify set of oak; answers its version's id. */
async function classifySet(set: string, values: ParamValues): Promise<string> {
  const written = await testDb.db.transaction((tx) =>
    addParameterSetVersion(
      tx,
      { material: 'oak', task: 'material.classify', set },
      { values, source: 'manual', activate: true },
      null,
    ),
  );
  return written.active?.id as string;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  await syncQueueClasses(testDb.db, CLASSES);
  app = createApp({
    db: testDb.db,
    logger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
    queueClasses: CLASSES,
  });
});

afterAll(async () => {
  await testDb?.drop();
});

describe.skipIf(Boolean(process.env.DATABASE_URL))('material.classify with a set (PGlite)', () => {
  let models: { dir: string; remove(): Promise<void> };
  let running: Awaited<ReturnType<typeof startTexturePool>>;
  let query: string;

  beforeAll(async () => {
    models = await textureModelDir();
    running = await startTexturePool({ db: testDb.db, logger, modelDir: models.dir });

    // The query's own image is the one `exact` item (similarity 1); four `near` items are
    // stripes of other periods, close but not equal. k=1 or a sharp weighted vote pick
    // `exact`; a majority of all five picks `near`, 4 votes of 5.
    const image = await stripesPng(0, 8, 96);
    query = image.toString('base64');
    const near = await Promise.all([10, 11, 12, 13].map((period) => stripesPng(0, period, 96)));
    const added = await post('/v1/catalog/items', {
      items: [
        { materialClass: 'exact', productId: 'exact-0', imageBase64: query },
        ...near.map((bytes, i) => ({
          materialClass: 'near',
          productId: `near-${i}`,
          imageBase64: bytes.toString('base64'),
        })),
      ],
    });
    expect(added.status).toBe(202);
    const items = added.body.items as CatalogItem[];
    await waitForJobs(
      testDb.db,
      items.map((item) => item.embedJobId as string),
    );
  });

  afterAll(async () => {
    await running?.stop();
    await models?.remove();
  });

  async function classify(set: string, payload: Record<string, unknown> = {}) {
    const submitted = await post('/v1/jobs', {
      type: 'material.classify',
      payload: { imageBase64: query, ...payload },
      parameters: { material: 'oak', task: 'material.classify', set },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const [job] = await waitForJobs(testDb.db, [submitted.body.id as string]);
    expect(job?.status, JSON.stringify(job?.error)).toBe('completed');
    return job?.result as unknown as ClassifyResult;
  }

  it('votes over the set’s k: one neighbour, or all five', async () => {
    const one = await classifySet('k-one', {
      k: 1,
      temperature: 1,
      minConfidence: 0,
      vote: 'majority',
    });
    const many = await classifySet('k-many', {
      k: 20,
      temperature: 1,
      minConfidence: 0,
      vote: 'majority',
    });

    const nearest = await classify('k-one');
    expect(nearest.neighbours).toHaveLength(1);
    expect(nearest.neighbours[0]?.similarity).toBeCloseTo(1, 5);
    expect(nearest).toMatchObject({ materialClass: 'exact', confidence: 1, confident: true });
    expect(nearest.parameters).toMatchObject({
      material: 'oak',
      task: 'material.classify',
      set: 'k-one',
      version: 1,
      versionId: one,
      applied: { k: 1, vote: 'majority', minConfidence: 0 },
      ignored: { temperature: 'a majority vote counts every neighbour once' },
    });

    const all = await classify('k-many');
    expect(all.neighbours).toHaveLength(5);
    expect(all).toMatchObject({ materialClass: 'near', confident: true });
    expect(all.confidence).toBeCloseTo(4 / 5, 10);
    expect(all.parameters).toMatchObject({ set: 'k-many', versionId: many });
  });

  it('lets the payload’s own k win over the set’s', async () => {
    const result = await classify('k-many', { k: 1 });
    expect(result.neighbours).toHaveLength(1);
    expect(result.materialClass).toBe('exact');
    expect(result.parameters?.ignored.k).toMatch(/payload's k \(1\) wins/);
  });

  it('weighs by similarity with the set’s temperature where majority counts heads', async () => {
    await classifySet('sharp', {
      k: 5,
      temperature: 0.01,
      minConfidence: 0,
      vote: 'similarity_weighted',
    });
    const result = await classify('sharp');
    expect(result.neighbours).toHaveLength(5);

    // The same neighbours as the majority vote, weighed exp((s - 1) / (0.02 * 0.01)).
    const weights = result.neighbours.map((n) => Math.exp((n.similarity - 1) / 0.0002));
    const exact = (weights[0] as number) / weights.reduce((a, b) => a + b, 0);
    expect(result.materialClass).toBe('exact');
    expect(result.confidence).toBeCloseTo(exact, 6);
    expect(result.confidence).toBeGreaterThan(0.9);
  });

  it('answers no confident class when the winner’s share is below minConfidence', async () => {
    const strict = await classifySet('strict', {
      k: 5,
      temperature: 1,
      minConfidence: 0.9,
      vote: 'majority',
    });
    const result = await classify('strict');
    expect(result).toMatchObject({
      materialClass: null,
      bestClass: 'near',
      confident: false,
      parameters: { set: 'strict', versionId: strict },
    });
    expect(result.confidence).toBeCloseTo(0.8, 10);
    expect(result.votes.map((v) => v.materialClass)).toEqual(['near', 'exact']);
  });

  it('keeps its answer without parameters: k 5, weighted, always confident', async () => {
    const submitted = await post('/v1/jobs', {
      type: 'material.classify',
      payload: { imageBase64: query },
    });
    expect(submitted.status).toBe(202);
    const [job] = await waitForJobs(testDb.db, [submitted.body.id as string]);
    const result = job?.result as unknown as ClassifyResult;
    expect(result.neighbours).toHaveLength(5);
    expect(result.confident).toBe(true);
    expect(typeof result.materialClass).toBe('string');
    expect(result.parameters).toBeUndefined();
  });
});
