import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { createApp } from '../core/http/app.ts';
import { ModelUnavailableError } from '../core/jobs/job-availability.ts';
import { modelsOverview } from '../core/jobs/model-status.ts';
import { submitJob } from '../core/jobs/submit-job.ts';
import { createLogger } from '../core/logging/logger.ts';
import { ALL_HANDLERS } from '../gpu-pool/handlers/all-handlers.ts';
import { modelReportsOf } from '../gpu-pool/models/model-reports.ts';
import { loadModelRepository } from '../gpu-pool/models/model-repository.ts';
import { ClipTokenizer } from '../gpu-pool/pattern/clip-tokenizer.ts';
import { repositoryModels } from '../gpu-pool/repository-models.ts';
import { createWorkerPool, type WorkerPool } from '../gpu-pool/worker-pool.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { RANDOM_PAIR_DIMS, type RandomPair, writeRandomClipPair } from './pattern-random-pair.ts';
import { flatPng, recordingMetrics, TEST_POOL_CLASSES, waitForJobs } from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let testDb: TestDatabase;
let db: Database;
let modelDir: string;
let pair: RandomPair;
let tokenizer: ClipTokenizer;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  modelDir = await mkdtemp(join(tmpdir(), 'kai-pattern-test-'));
  pair = await writeRandomClipPair(modelDir);
  tokenizer = await ClipTokenizer.fromFiles(
    join(pair.versionDir, 'vocab.json'),
    join(pair.versionDir, 'merges.txt'),
  );
});

afterAll(async () => {
  await rm(modelDir, { recursive: true, force: true });
  await testDb?.drop();
});

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function unit(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return vector.map((v) => v / norm);
}

function times(row: number[], matrix: Float32Array, cols: number): number[] {
  return Array.from({ length: cols }, (_, j) =>
    row.reduce((sum, v, i) => sum + v * (matrix[i * cols + j] as number), 0),
  );
}

/** The random image encoder by hand, for a flat colour: every pooled cell is the colour. */
function expectedImage(rgb: [number, number, number]): number[] {
  const pooled = rgb.flatMap((value, c) => {
    const normalised = (value / 255 - (pair.mean[c] as number)) / (pair.std[c] as number);
    return new Array(16).fill(normalised) as number[];
  });
  return unit(times(pooled, pair.imageWeights, RANDOM_PAIR_DIMS));
}

/** The random text encoder by hand: the mean token embedding through the matrix. */
function expectedText(text: string): number[] {
  const { ids, mask } = tokenizer.encode(text, 16);
  const real = ids.filter((_, i) => mask[i] === 1);
  const mean = Array.from({ length: RANDOM_PAIR_DIMS }, (_, d) => {
    const sum = real.reduce(
      (s, id) => s + (pair.tokenEmbeddings[id * RANDOM_PAIR_DIMS + d] as number),
      0,
    );
    return sum / real.length;
  });
  return unit(times(mean, pair.textWeights, RANDOM_PAIR_DIMS));
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * (b[i] as number), 0);

describe('the CLIP tokenizer', () => {
  it('cleans, splits and merges by rank, with start and end tokens and padding', () => {
    expect(tokenizer.tokens('  Red   MARBLE! ')).toEqual(['red</w>', 'marble</w>', '!</w>']);
    // A word without merges falls back to byte symbols, the last one word-final.
    expect(tokenizer.tokens('zq')).toEqual(['z', 'q</w>']);
    expect(tokenizer.tokens('é')).toEqual(['Ã', '©</w>']);

    const { ids, mask, truncated } = tokenizer.encode('red oak', 6);
    expect(ids[0]).toBe(tokenizer.startId);
    expect(ids.slice(1, 3)).toEqual([pair.vocab['red</w>'], pair.vocab['oak</w>']]);
    expect(ids[3]).toBe(tokenizer.endId);
    expect(ids.slice(4)).toEqual([0, 0]);
    expect(mask).toEqual([1, 1, 1, 1, 0, 0]);
    expect(truncated).toBe(false);

    const long = tokenizer.encode('red blue oak tile wood granite marble', 5);
    expect(long.truncated).toBe(true);
    expect(long.ids).toHaveLength(5);
    expect(long.ids.at(-1)).toBe(tokenizer.endId);
  });
});

describe('pattern.match with the random pair through the real pool', () => {
  let pool: WorkerPool;
  let close: () => Promise<void>;
  const metrics = recordingMetrics();

  beforeAll(async () => {
    const repository = await loadModelRepository(modelDir, { logger, executionProviders: ['cpu'] });
    pool = createWorkerPool({
      db,
      logger,
      handlers: ALL_HANDLERS,
      models: repositoryModels(repository, 8),
      modelReports: () => modelReportsOf(repository),
      metrics,
      queueClasses: TEST_POOL_CLASSES,
      leaseMs: 30_000,
      retry: { baseMs: 10, maxMs: 100 },
      concurrency: 16,
      batchSizeLimit: 8,
      pollIntervalMs: 100,
    });
    close = async () => {
      await pool.drain();
      await repository.close();
    };
  });

  afterAll(async () => {
    await close?.();
  });

  it('ranks texts for an image and images for a text as the encoders say', async () => {
    const texts = ['red marble', 'blue granite tile', 'oak wood', 'zq!'];
    const colours: [number, number, number][] = [
      [200, 30, 30],
      [20, 40, 210],
      [140, 100, 60],
    ];
    const images = await Promise.all(colours.map((c) => flatPng(c, 40)));

    // Queued before the pool starts, so they run as one batch of the model.
    const submit = async (payload: unknown) =>
      (await submitJob(db, TEST_POOL_CLASSES, { type: 'pattern.match', payload, ownerId: null }))
        .job.id;
    const toText = await submit({
      direction: 'image-to-text',
      imageBase64: base64(images[0] as Buffer),
      texts,
    });
    const toImage = await submit({
      direction: 'text-to-image',
      text: 'oak wood',
      imagesBase64: images.map(base64),
      topK: 2,
    });
    const badImage = await submit({
      direction: 'text-to-image',
      text: 'red',
      imagesBase64: [base64(images[1] as Buffer), base64((images[2] as Buffer).subarray(0, 60))],
    });
    await pool.start();
    const [first, second, third] = await waitForJobs(db, [toText, toImage, badImage]);
    expect(Math.max(...metrics.batches)).toBe(3);

    // Image to text: the order and similarities of the hand-computed encoders.
    const image = expectedImage(colours[0] as [number, number, number]);
    const expected = texts
      .map((text, index) => ({ index, similarity: dot(image, expectedText(text)) }))
      .sort((a, b) => b.similarity - a.similarity);
    const ranking = first?.result?.ranking as {
      index: number;
      text: string;
      similarity: number;
      probability: number;
    }[];
    expect(first?.status).toBe('completed');
    expect(ranking.map((r) => r.index)).toEqual(expected.map((e) => e.index));
    for (const [i, r] of ranking.entries()) {
      expect(r.similarity).toBeCloseTo(expected[i]?.similarity as number, 4);
      expect(r.text).toBe(texts[r.index]);
    }
    expect(ranking.reduce((sum, r) => sum + r.probability, 0)).toBeCloseTo(1, 6);

    // Text to image, cut to the top two.
    const text = expectedText('oak wood');
    const expectedImages = colours
      .map((c, index) => ({ index, similarity: dot(text, expectedImage(c)) }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, 2);
    const imageRanking = second?.result?.ranking as { index: number; similarity: number }[];
    expect(imageRanking.map((r) => r.index)).toEqual(expectedImages.map((e) => e.index));
    expect(imageRanking[0]?.similarity).toBeCloseTo(expectedImages[0]?.similarity as number, 4);

    // A cut-short image fails its own job, naming which image.
    expect(third?.status).toBe('dead');
    expect(third?.error?.code).toBe('image_unreadable');
    expect(third?.error?.message).toMatch(/imagesBase64\[1\]/);
  });

  it('is listed available in GET /v1/models while the pool serves the pair', async () => {
    const overview = await modelsOverview(db);
    expect(overview.jobTypes.find((t) => t.type === 'pattern.match')?.available).toBe(true);
    const model = overview.models.find((m) => m.name === 'pattern-clip');
    expect(model).toMatchObject({ ready: true, synthetic: true });
    expect(model?.description).toMatch(/RANDOM weights/);
  });
});

describe('pattern.match without weights', () => {
  it('is unavailable and refused with 503 model_unavailable while a pool runs without it', async () => {
    const own = await createTestDatabase();
    const broken = await mkdtemp(join(tmpdir(), 'kai-pattern-broken-'));
    await writeRandomClipPair(broken, { omit: 'merges' });
    const repository = await loadModelRepository(broken, { logger, executionProviders: ['cpu'] });
    const pool = createWorkerPool({
      db: own.db,
      logger,
      handlers: ALL_HANDLERS,
      models: repositoryModels(repository, 8),
      modelReports: () => modelReportsOf(repository),
      queueClasses: TEST_POOL_CLASSES,
      leaseMs: 30_000,
      retry: { baseMs: 10, maxMs: 100 },
      concurrency: 4,
      batchSizeLimit: 8,
      pollIntervalMs: 1000,
    });
    const payload = {
      direction: 'image-to-text',
      imageBase64: base64(await flatPng([1, 2, 3])),
      texts: ['oak'],
    };

    try {
      // No pool live: accepted, as pools may be scaled to zero and start for it.
      const queued = await submitJob(own.db, TEST_POOL_CLASSES, {
        type: 'pattern.match',
        payload,
        ownerId: null,
      });
      expect(queued.job.status).toBe('queued');
      await own.db.query('delete from public.jobs');

      // A pool live whose pattern-clip lacks its tokenizer: reported, not ready, refused.
      await pool.start();
      const overview = await modelsOverview(own.db);
      expect(overview.jobTypes.find((t) => t.type === 'pattern.match')?.available).toBe(false);
      expect(overview.models.find((m) => m.name === 'pattern-clip')).toMatchObject({
        ready: false,
        reason: expect.stringMatching(/merges/),
      });
      await expect(
        submitJob(own.db, TEST_POOL_CLASSES, { type: 'pattern.match', payload, ownerId: null }),
      ).rejects.toBeInstanceOf(ModelUnavailableError);

      // Through POST /v1/jobs as a user: the problem document.
      const app = createApp({
        db: own.db,
        logger,
        readiness: () => ({ migrations: true, pool: true }),
        verifyJwt: testVerifier(),
        queueClasses: TEST_POOL_CLASSES,
      });
      const response = await app.request('/v1/jobs', {
        method: 'POST',
        headers: { ...(await bearer(randomUUID())), 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'pattern.match', payload }),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(await response.json()).toMatchObject({
        code: 'model_unavailable',
        model: 'pattern-clip',
      });
      const [row] = await own.db.query<{ count: number }>(
        'select count(*)::int as count from public.jobs',
      );
      expect(row?.count).toBe(0);
    } finally {
      await pool.drain();
      await repository.close();
      await own.drop();
      await rm(broken, { recursive: true, force: true });
    }
  });
});
