import { Tensor } from 'onnxruntime-node';
import { ImageInputError } from '../images/decode-image.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { decodeImageTensor } from './decode-image.ts';
import { TEXTURE_NET } from './texture-net-spec.ts';

/** What the texture net made of one image. */
export type TextureEmbedding =
  | {
      ok: true;
      /** Unit-length embedding; its dimensions are listed in the model's manifest. */
      embedding: number[];
      /** Mean Gabor energy per orientation, summed over scales, in orientation order. */
      orientationEnergy: number[];
    }
  | { ok: false; error: ImageInputError };

/** The model as the texture code needs it: a session run keyed by input name. */
export type TextureModel = Pick<LoadedModel, 'run' | 'manifest'>;

/**
 * Decodes every image (concurrently, each on its own) and runs the ones that decoded through
 * `model` in one `session.run`. An image that fails to decode fails alone; the answer keeps the
 * order of `images`.
 */
export async function embedImages(
  model: TextureModel,
  images: readonly Uint8Array[],
  options: { maxPixels?: number } = {},
): Promise<TextureEmbedding[]> {
  const size = TEXTURE_NET.inputSize;
  const decoded = await Promise.all(
    images.map((bytes) =>
      decodeImageTensor(bytes, size, options).catch((error: unknown) => {
        if (error instanceof ImageInputError) return error;
        throw error;
      }),
    ),
  );

  const good = decoded.filter((d): d is Float32Array => d instanceof Float32Array);
  const results: TextureEmbedding[] = [];
  if (good.length === 0) return decoded.map((d) => ({ ok: false, error: d as ImageInputError }));

  // One batch tensor for the whole batch: the point of batching on a GPU.
  const plane = 3 * size * size;
  const stacked = new Float32Array(good.length * plane);
  good.forEach((tensor, row) => {
    stacked.set(tensor, row * plane);
  });
  const outputs = await model.run({
    image: new Tensor('float32', stacked, [good.length, 3, size, size]),
  });
  const embedding = outputs.embedding?.data as Float32Array | undefined;
  const energy = outputs.orientation_energy?.data as Float32Array | undefined;
  if (!embedding || !energy) {
    throw new Error('The texture net answered without its embedding and orientation_energy.');
  }

  const width = embedding.length / good.length;
  const energyWidth = energy.length / good.length;
  let row = 0;
  for (const entry of decoded) {
    if (!(entry instanceof Float32Array)) {
      results.push({ ok: false, error: entry });
      continue;
    }
    results.push({
      ok: true,
      embedding: Array.from(embedding.subarray(row * width, (row + 1) * width)),
      orientationEnergy: Array.from(energy.subarray(row * energyWidth, (row + 1) * energyWidth)),
    });
    row++;
  }
  return results;
}
