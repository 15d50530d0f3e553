import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logging/logger.ts';
import { loadModelRepository, type ModelRepository } from '../gpu-pool/models/model-repository.ts';
import { embedImages, type TextureModel } from '../gpu-pool/texture/embed-images.ts';
import { TEXTURE_NET } from '../gpu-pool/texture/texture-net-spec.ts';
import { generateTextureSet, renderTexture, TEXTURE_FAMILIES } from '../scripts/eval/textures.ts';
import { precisionAtK } from '../scripts/eval/textures-retrieval.ts';
import { textureModelDir } from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let models: { dir: string; remove(): Promise<void> };
let repository: ModelRepository;

beforeAll(async () => {
  models = await textureModelDir();
  repository = await loadModelRepository(models.dir, { logger, executionProviders: ['cpu'] });
});

afterAll(async () => {
  await repository?.close();
  await models?.remove();
});

describe('the procedural texture set', () => {
  it('renders every family, deterministically per seed, with its variations', async () => {
    const first = await generateTextureSet({ perFamily: 2, seed: 42, sizePx: 48 });
    const again = await generateTextureSet({ perFamily: 2, seed: 42, sizePx: 48 });
    const other = await generateTextureSet({ perFamily: 2, seed: 43, sizePx: 48 });

    expect(new Set(first.map((s) => s.family))).toEqual(new Set(TEXTURE_FAMILIES));
    expect(new Set(first.map((s) => s.format))).toEqual(new Set(['png', 'jpeg', 'webp']));
    expect(first.map((s) => s.bytes.toString('hex'))).toEqual(
      again.map((s) => s.bytes.toString('hex')),
    );
    expect(first[0]?.variation).not.toEqual(other[0]?.variation);

    // A turned copy of a variation is a different image of the same texture.
    const variation = first[0]?.variation as (typeof first)[number]['variation'];
    const turned = renderTexture({ ...variation, rotationRad: variation.rotationRad + 1 }, 48);
    expect(Buffer.from(turned).equals(Buffer.from(renderTexture(variation, 48)))).toBe(false);
  });

  it('scores precision@k by leave-one-out nearest neighbours', () => {
    const score = precisionAtK(
      [
        { label: 'a', vector: [1, 0] },
        { label: 'a', vector: [0.9, 0.1] },
        { label: 'b', vector: [0, 1] },
        { label: 'b', vector: [0.6, 0.4] },
      ],
      1,
    );
    // The last b's nearest is an a: three of four queries hit.
    expect(score.precisionAtK).toBeCloseTo(0.75);
    expect(score.perLabel).toEqual({ a: 1, b: 0.5 });
  });

  it('is told apart by family through the real net, also when colours say nothing', async () => {
    const model = repository.get(TEXTURE_NET.name) as TextureModel;
    for (const colours of ['family', 'any'] as const) {
      const samples = await generateTextureSet({ perFamily: 8, seed: 7, colours });
      const results = await embedImages(
        model,
        samples.map((s) => s.bytes),
      );
      const labelled = results.map((result, i) => {
        if (!result.ok) throw result.error;
        return { label: samples[i]?.family as string, vector: result.embedding };
      });
      // Measured 0.90 in both modes for this seed; the bench runs the larger set.
      expect(precisionAtK(labelled, 5).precisionAtK).toBeGreaterThan(0.8);
    }
  }, 120_000);
});
