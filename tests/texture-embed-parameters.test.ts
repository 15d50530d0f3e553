// texture.embed run with registry sets: colorWeight reweighs the colour block of the real
// kai-texture-net embedding exactly; patchSize, patchesPerImage and scales, which the net does
// not have, are recorded as ignored; the result names the set version.

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob } from '../core/jobs/submit-job.ts';
import { createLogger } from '../core/logging/logger.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { addParameterSetVersion } from '../core/registry/parameter-sets.ts';
import { withColourWeight } from '../gpu-pool/texture/colour-weight.ts';
import { TEXTURE_FEATURES } from '../gpu-pool/texture/texture-net-spec.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import {
  startTexturePool,
  TEST_POOL_CLASSES,
  textureModelDir,
  waitForJobs,
} from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let testDb: TestDatabase;
let models: { dir: string; remove(): Promise<void> };
let running: Awaited<ReturnType<typeof startTexturePool>>;

interface EmbedResult {
  embedding: number[];
  parameters?: {
    set: string;
    version: number;
    versionId: string;
    applied: Record<string, unknown>;
    ignored: Record<string, string>;
  };
}

/** Red and blue stripes: texture and colour both. */
async function colouredStripes(): Promise<string> {
  const size = 96;
  const raw = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const on = Math.cos((2 * Math.PI * x) / 9) > 0;
      raw.set(on ? [200, 40, 30] : [30, 60, 190], (y * size + x) * 3);
    }
  }
  const png = await sharp(raw, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer();
  return png.toString('base64');
}

async function embed(imageBase64: string, set?: string): Promise<EmbedResult> {
  const { job } = await submitJob(testDb.db, TEST_POOL_CLASSES, {
    type: 'texture.embed',
    payload: { imageBase64 },
    ownerId: null,
    ...(set && { parameters: { material: 'granite', task: 'texture.embed', set } }),
  });
  const [settled] = await waitForJobs(testDb.db, [job.id]);
  expect(settled?.status, JSON.stringify(settled?.error)).toBe('completed');
  return settled?.result as unknown as EmbedResult;
}

async function textureSet(set: string, colorWeight: number): Promise<string> {
  const written = await testDb.db.transaction((tx) =>
    addParameterSetVersion(
      tx,
      { material: 'granite', task: 'texture.embed', set },
      {
        values: { patchSize: 64, patchesPerImage: 8, scales: 1, colorWeight },
        source: 'manual',
        activate: true,
      },
      null,
    ),
  );
  return written.active?.id as string;
}

const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

beforeAll(async () => {
  testDb = await createTestDatabase();
  await syncQueueClasses(testDb.db, TEST_POOL_CLASSES);
  models = await textureModelDir();
  running = await startTexturePool({ db: testDb.db, logger, modelDir: models.dir });
});

afterAll(async () => {
  await running?.stop();
  await models?.remove();
  await testDb?.drop();
});

describe('texture.embed with a set', () => {
  it('reweighs the colour block by colorWeight and records what it ignored', async () => {
    const image = await colouredStripes();
    const plain = await embed(image);
    expect(plain.parameters).toBeUndefined();

    const noColourId = await textureSet('no-colour', 0);
    const noColour = await embed(image, 'no-colour');
    expect(noColour.embedding.slice(TEXTURE_FEATURES).every((v) => v === 0)).toBe(true);
    expect(norm(noColour.embedding)).toBeCloseTo(1, 5);
    expect(noColour.parameters).toMatchObject({
      set: 'no-colour',
      version: 1,
      versionId: noColourId,
      applied: { colorWeight: 0 },
    });
    expect(Object.keys(noColour.parameters?.ignored ?? {}).sort()).toEqual([
      'patchSize',
      'patchesPerImage',
      'scales',
    ]);

    await textureSet('full-colour', 1);
    const fullColour = await embed(image, 'full-colour');
    const expected = withColourWeight(plain.embedding, 1);
    fullColour.embedding.forEach((value, i) => {
      expect(value).toBeCloseTo(expected[i] as number, 6);
    });
    // Twice the net's own weight: the colour block grows against texture.
    const colourNorm = (e: number[]) => norm(e.slice(TEXTURE_FEATURES));
    expect(colourNorm(fullColour.embedding)).toBeGreaterThan(colourNorm(plain.embedding));

    // The net's own weight, 0.5, leaves the embedding as it was.
    await textureSet('net-weight', 0.5);
    const same = await embed(image, 'net-weight');
    same.embedding.forEach((value, i) => {
      expect(value).toBeCloseTo(plain.embedding[i] as number, 6);
    });
  });
});
