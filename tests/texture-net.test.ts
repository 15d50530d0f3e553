import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXTURE_EMBEDDING_DIMS } from '../core/catalog/texture-embedding.ts';
import { createLogger } from '../core/logging/logger.ts';
import { loadModelRepository, type ModelRepository } from '../gpu-pool/models/model-repository.ts';
import { embedImages, type TextureModel } from '../gpu-pool/texture/embed-images.ts';
import { summariseOrientation } from '../gpu-pool/texture/orientation-summary.ts';
import { embeddingDimensions, TEXTURE_NET } from '../gpu-pool/texture/texture-net-spec.ts';
import { gaborPair, orientationRad } from '../scripts/build-texture-net.ts';
import { flatPng, stripesPng, textureModelDir } from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let models: { dir: string; remove(): Promise<void> };
let repository: ModelRepository;
let model: TextureModel;

beforeAll(async () => {
  models = await textureModelDir();
  repository = await loadModelRepository(models.dir, { logger, executionProviders: ['cpu'] });
  model = repository.get(TEXTURE_NET.name) as TextureModel;
});

afterAll(async () => {
  await repository?.close();
  await models?.remove();
});

async function embedOne(bytes: Uint8Array) {
  const [result] = await embedImages(model, [bytes]);
  if (!result?.ok) throw result?.error ?? new Error('no result');
  return result;
}

const cosine = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0);

describe('the generated kai-texture-net', () => {
  it('loads from its manifest, which says it is computed and names every dimension', async () => {
    const status = repository.models().find((m) => m.name === TEXTURE_NET.name);
    expect(status?.ready).toBe(true);
    expect(status?.manifest?.synthetic).toBe(false);
    expect(status?.description).toMatch(/not trained/);
    const dims = status?.manifest?.preprocessing?.dimensions as string[];
    expect(dims).toHaveLength(TEXTURE_EMBEDDING_DIMS);
    expect(embeddingDimensions().filter((d) => d.block === 'colour')).toHaveLength(6);
  });

  it('fits the catalog column: the migration stores vectors of its width', async () => {
    const sql = await readFile(
      new URL('../supabase/migrations/20261203001300_catalog.sql', import.meta.url),
      'utf8',
    );
    expect(sql).toContain(`extensions.vector(${TEXTURE_EMBEDDING_DIMS})`);
    expect(sql).toContain(
      `jsonb_array_length(new.result -> 'embedding') = ${TEXTURE_EMBEDDING_DIMS}`,
    );
  });

  it('is deterministic: a second build writes the same bytes', async () => {
    const again = await textureModelDir();
    try {
      const path = join(TEXTURE_NET.name, TEXTURE_NET.version);
      const [first, second] = await Promise.all([
        readFile(join(models.dir, path, 'model.onnx')),
        readFile(join(again.dir, path, 'model.onnx')),
      ]);
      expect(second.equals(first)).toBe(true);
      const manifests = await Promise.all(
        [models.dir, again.dir].map((dir) => readFile(join(dir, path, 'manifest.json'), 'utf8')),
      );
      expect(manifests[1]).toBe(manifests[0]);
    } finally {
      await again.remove();
    }
  });

  it('has zero-mean, unit-norm Gabor kernels', () => {
    for (const wavelength of TEXTURE_NET.wavelengthsPx) {
      const [even, odd] = gaborPair(wavelength, orientationRad(1));
      const sum = even.reduce((a, b) => a + b, 0);
      expect(Math.abs(sum)).toBeLessThan(1e-4);
      expect(Math.hypot(...even)).toBeCloseTo(1, 5);
      expect(Math.hypot(...odd)).toBeCloseTo(1, 5);
    }
  });

  it('answers vertical stripes on orientation 0 and horizontal ones on 90 degrees', async () => {
    const vertical = summariseOrientation((await embedOne(await stripesPng(0))).orientationEnergy);
    const horizontal = summariseOrientation(
      (await embedOne(await stripesPng(Math.PI / 2))).orientationEnergy,
    );
    const diagonal = summariseOrientation(
      (await embedOne(await stripesPng(Math.PI / 3))).orientationEnergy,
    );

    expect(vertical.energy.indexOf(Math.max(...vertical.energy))).toBe(0);
    expect(horizontal.energy.indexOf(Math.max(...horizontal.energy))).toBe(3);
    expect(diagonal.energy.indexOf(Math.max(...diagonal.energy))).toBe(2);
    expect(Math.min(vertical.dominantDeg, 180 - vertical.dominantDeg)).toBeLessThan(3);
    expect(Math.abs(horizontal.dominantDeg - 90)).toBeLessThan(3);
    expect(vertical.anisotropy).toBeGreaterThan(0.5);
  });

  it('gives unit-length embeddings that do not change when stripes turn by 90 degrees', async () => {
    const vertical = (await embedOne(await stripesPng(0))).embedding;
    const horizontal = (await embedOne(await stripesPng(Math.PI / 2))).embedding;
    const finer = (await embedOne(await stripesPng(0, 4))).embedding;

    expect(vertical).toHaveLength(TEXTURE_EMBEDDING_DIMS);
    expect(Math.hypot(...vertical)).toBeCloseTo(1, 4);
    expect(cosine(vertical, horizontal)).toBeGreaterThan(0.999);
    // A different scale is a different texture.
    expect(cosine(vertical, finer)).toBeLessThan(cosine(vertical, horizontal) - 0.05);
  });

  it('embeds a flat image to finite numbers: colour only, no texture energy', async () => {
    const { embedding, orientationEnergy } = await embedOne(await flatPng([200, 80, 40]));
    expect(embedding.every(Number.isFinite)).toBe(true);
    expect(Math.max(...orientationEnergy)).toBeLessThan(1e-2);
    expect(Math.hypot(...embedding)).toBeCloseTo(1, 4);
  });

  it('gives the same embedding for an image alone and inside a batch', async () => {
    const images = await Promise.all([stripesPng(0.3), flatPng([10, 20, 30]), stripesPng(1, 6)]);
    const alone = await embedOne(images[2] as Buffer);
    const batch = await embedImages(model, images);
    const third = batch[2];
    expect(third?.ok).toBe(true);
    if (!third?.ok) return;
    for (const [i, value] of alone.embedding.entries()) {
      expect(third.embedding[i]).toBeCloseTo(value, 5);
    }
  });
});

/** A PNG whose header claims `width` x `height`, with a valid IHDR checksum. */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await flatPng([1, 2, 3], 4));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

describe('bad images', () => {
  it('fail alone with a stable code, the rest of the batch embedded', async () => {
    const good = await stripesPng(0);
    const truncated = (await stripesPng(0.5)).subarray(0, 400);
    const jpeg = await sharp(good).jpeg().toBuffer();
    const results = await embedImages(model, [
      good,
      Buffer.from('definitely not an image'),
      truncated,
      await pngClaiming(30_000, 30_000),
      Buffer.alloc(0),
      await pngClaiming(0, 16),
      jpeg.subarray(0, jpeg.length - 200),
      await sharp(good).webp().toBuffer(),
    ]);

    const codes = results.map((r) => (r.ok ? 'ok' : r.error.code));
    expect(codes).toEqual([
      'ok',
      'image_unreadable',
      'image_unreadable',
      'image_too_large',
      'image_empty',
      'image_empty',
      'image_unreadable',
      'ok',
    ]);
  });

  it('refuses an image over the pixel limit that only the decoder would see', async () => {
    const [result] = await embedImages(model, [await stripesPng(0, 8, 128)], {
      maxPixels: 100 * 100,
    });
    expect(result?.ok).toBe(false);
    if (!result?.ok) expect(result?.error.code).toBe('image_too_large');
  });
});
