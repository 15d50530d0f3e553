import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXTURE_EMBEDDING_DIMS } from '../core/catalog/texture-embedding.ts';
import type { Database } from '../core/db/database.ts';
import { ValidationError } from '../core/errors.ts';
import { submitJob } from '../core/jobs/submit-job.ts';
import { createLogger } from '../core/logging/logger.ts';
import { enqueueJob } from '../core/queue/enqueue.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import {
  recordingMetrics,
  startTexturePool,
  stripesPng,
  TEST_POOL_CLASSES,
  textureModelDir,
  waitForJobs,
} from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let testDb: TestDatabase;
let db: Database;
let models: { dir: string; remove(): Promise<void> };

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  models = await textureModelDir();
});

afterAll(async () => {
  await models?.remove();
  await testDb?.drop();
});

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('texture.embed through the real pool', () => {
  it('embeds a batch in one run, fails bad images alone and keeps serving', async () => {
    // Queued before the pool starts, so its first claim takes them together.
    const good = await Promise.all([0, 0.4, 0.8, 1.2, 1.6, 2].map((a) => stripesPng(a)));
    const goodIds: string[] = [];
    for (const image of good) {
      const { job } = await submitJob(db, TEST_POOL_CLASSES, {
        type: 'texture.embed',
        payload: { imageBase64: base64(image) },
        ownerId: null,
      });
      goodIds.push(job.id);
    }
    // Bytes whose header passes the submission check but whose body is cut short.
    const truncated = (await stripesPng(0.1)).subarray(0, 300);
    const { job: bad } = await submitJob(db, TEST_POOL_CLASSES, {
      type: 'texture.embed',
      payload: { imageBase64: base64(truncated) },
      ownerId: null,
    });
    // What an older API might have queued: not an image at all.
    const { job: garbage } = await enqueueJob(db, {
      type: 'texture.embed',
      payload: { imageBase64: base64(Buffer.from('hello, not an image')) },
      queue: 'batch',
      model: 'kai-texture-net',
    });

    const metrics = recordingMetrics();
    const running = await startTexturePool({ db, logger, modelDir: models.dir, metrics });
    try {
      const settled = await waitForJobs(db, [...goodIds, bad.id, garbage.id]);

      for (const job of settled.slice(0, goodIds.length)) {
        expect(job.status).toBe('completed');
        const embedding = job.result?.embedding as number[];
        expect(embedding).toHaveLength(TEXTURE_EMBEDDING_DIMS);
        expect(job.result?.model).toBe('kai-texture-net');
      }
      expect(settled.at(-2)).toMatchObject({ status: 'dead', error: { code: 'image_unreadable' } });
      expect(settled.at(-1)).toMatchObject({ status: 'dead', error: { code: 'invalid_payload' } });
      expect(Math.max(...metrics.batches)).toBeGreaterThan(1);

      // The pool is still there for the next job.
      const { job: after } = await submitJob(db, TEST_POOL_CLASSES, {
        type: 'texture.embed',
        payload: { imageBase64: base64(await stripesPng(0)) },
        ownerId: null,
      });
      const [done] = await waitForJobs(db, [after.id]);
      expect(done?.status).toBe('completed');
      const orientation = done?.result?.orientation as { dominantDeg: number };
      expect(Math.min(orientation.dominantDeg, 180 - orientation.dominantDeg)).toBeLessThan(3);
    } finally {
      await running.stop();
    }
  });
});

describe('texture.embed submissions', () => {
  const submit = (image: string) =>
    submitJob(db, TEST_POOL_CLASSES, {
      type: 'texture.embed',
      payload: { imageBase64: image },
      ownerId: null,
    });

  it('refuses what the header already shows is bad, with the failing field named', async () => {
    const png = await stripesPng(0, 8, 16);
    const huge = Buffer.from(png);
    huge.writeUInt32BE(30_000, 16);
    huge.writeUInt32BE(30_000, 20);

    for (const [image, message] of [
      ['', /empty/],
      [base64(Buffer.from('GIF89a, or anything else')), /not a PNG, JPEG or WebP/],
      [base64(huge), /30000x30000/],
      ['not base64 at all!', /base64/],
    ] as const) {
      const error = await submit(image).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      const fields = (error as ValidationError).extensions.errors as {
        path: string;
        message: string;
      }[];
      expect(fields[0]?.path).toBe('payload.imageBase64');
      expect(fields[0]?.message).toMatch(message);
    }
    const [row] = await db.query<{ count: number }>(
      `select count(*)::int as count from public.jobs where type = 'texture.embed' and status = 'queued'`,
    );
    expect(row?.count).toBe(0);
  });
});
