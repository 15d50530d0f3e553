// `npm run bench:texture -- [--json] [--per-family N] [--seed S] [--batch B] [--colours any]`:
// texture retrieval through the real kai-texture-net. Renders the procedural texture set (six families, every
// image its own scale, rotation, colour, noise and seed), embeds it through the generated ONNX
// model (sharp decoding, batched session.run, as the pool's handler does), and scores
// leave-one-out precision@5 by family. Beside it, the same score for a naive peer: an 8x8
// colour thumbnail compared by cosine ("tiny image" retrieval), and the bare model's speed on
// the same batches decoded beforehand. Progress goes to stderr; with
// --json the last stdout line is the one result object. `--colours any` turns every image's
// hue at random and scales its brightness, so that only texture tells the families apart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { createLogger } from '../../core/logging/logger.ts';
import { loadModelRepository } from '../../gpu-pool/models/model-repository.ts';
import { decodeImageTensor } from '../../gpu-pool/texture/decode-image.ts';
import { embedImages } from '../../gpu-pool/texture/embed-images.ts';
import { TEXTURE_NET } from '../../gpu-pool/texture/texture-net-spec.ts';
import { buildTextureNet } from '../build-texture-net.ts';
import { generateTextureSet, TEXTURE_FAMILIES } from '../eval/textures.ts';
import { type LabelledVector, precisionAtK } from '../eval/textures-retrieval.ts';
import { progress, ratio, round } from './bench-output.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    'per-family': { type: 'string', default: '20' },
    // Any seed will do: the net's constants were set from the filter design alone and were
    // never tuned on this set.
    seed: { type: 'string', default: '20261203' },
    batch: { type: 'string', default: '8' },
    colours: { type: 'string', default: 'family' },
  },
});

const K = 5;

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`--${name} must be a whole number of at least 1, not ${text}.`);
  }
  return value;
}

async function main(): Promise<void> {
  const perFamily = positive('per-family', values['per-family']);
  const seed = positive('seed', values.seed);
  const batch = positive('batch', values.batch);
  const modelDir = await mkdtemp(join(tmpdir(), 'kai-bench-texture-'));

  try {
    progress(
      `texture bench: rendering ${perFamily} images of each of ${TEXTURE_FAMILIES.length} ` +
        `families, colours ${values.colours === 'any' ? 'any' : 'per family'}`,
    );
    const colours = values.colours === 'any' ? 'any' : 'family';
    const samples = await generateTextureSet({ perFamily, seed, colours });

    await buildTextureNet(modelDir);
    const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });
    const repository = await loadModelRepository(modelDir, { logger, executionProviders: ['cpu'] });
    const model = repository.get(TEXTURE_NET.name);
    if (!model)
      throw new Error(`${TEXTURE_NET.name} did not load: ${JSON.stringify(repository.models())}`);

    // Kai: decode and embed in batches, timed end to end.
    const embedded: LabelledVector[] = [];
    const startedMs = performance.now();
    for (let at = 0; at < samples.length; at += batch) {
      const slice = samples.slice(at, at + batch);
      const results = await embedImages(
        model,
        slice.map((s) => s.bytes),
      );
      for (const [i, result] of results.entries()) {
        if (!result.ok) throw result.error;
        embedded.push({
          label: (slice[i] as (typeof samples)[number]).family,
          vector: result.embedding,
        });
      }
    }
    const seconds = (performance.now() - startedMs) / 1000;

    // The bare model on the same batches, pre-decoded: what decoding and batching cost.
    const size = TEXTURE_NET.inputSize;
    const tensors = await Promise.all(samples.map((s) => decodeImageTensor(s.bytes, size)));
    const rawStartedMs = performance.now();
    for (let at = 0; at < tensors.length; at += batch) {
      const slice = tensors.slice(at, at + batch);
      const stacked = new Float32Array(slice.length * 3 * size * size);
      slice.forEach((tensor, row) => {
        stacked.set(tensor, row * 3 * size * size);
      });
      await model.run({ image: new Tensor('float32', stacked, [slice.length, 3, size, size]) });
    }
    const rawImagesPerSec = tensors.length / ((performance.now() - rawStartedMs) / 1000);
    await repository.close();

    // The peer: tiny-image retrieval on the same bytes.
    const thumbnails: LabelledVector[] = [];
    for (const sample of samples) {
      const raw = await sharp(sample.bytes)
        .removeAlpha()
        .resize(8, 8, { fit: 'cover' })
        .raw()
        .toBuffer();
      thumbnails.push({ label: sample.family, vector: Array.from(raw, (v) => v / 255 - 0.5) });
    }

    const kai = precisionAtK(embedded, K);
    const peer = precisionAtK(thumbnails, K);
    const imagesPerSec = samples.length / seconds;
    progress(
      `kai-texture-net precision@${K} ${kai.precisionAtK.toFixed(3)} vs tiny-image ` +
        `${peer.precisionAtK.toFixed(3)} (${ratio(kai.precisionAtK, peer.precisionAtK)}), ` +
        `${round(imagesPerSec)} images/s at batch ${batch} on cpu with decoding, bare ` +
        `session.run ${round(rawImagesPerSec)} images/s (${ratio(imagesPerSec, rawImagesPerSec)})`,
    );
    for (const family of TEXTURE_FAMILIES) {
      progress(
        `  ${family.padEnd(16)} kai ${(kai.perLabel[family] ?? 0).toFixed(2)}  ` +
          `tiny-image ${(peer.perLabel[family] ?? 0).toFixed(2)}`,
      );
    }

    const result = {
      bench: 'texture',
      images: samples.length,
      families: TEXTURE_FAMILIES.length,
      precisionAt5: Math.round(kai.precisionAtK * 1000) / 1000,
      imagesPerSec: round(imagesPerSec),
    };
    if (values.json) {
      const peerLine = {
        bench: 'texture-peer',
        peer: 'tiny-image 8x8 cosine',
        colours,
        rawModelImagesPerSec: round(rawImagesPerSec),
        precisionAt5: Math.round(peer.precisionAtK * 1000) / 1000,
        ratio:
          peer.precisionAtK === 0
            ? null
            : Math.round((kai.precisionAtK / peer.precisionAtK) * 100) / 100,
      };
      process.stdout.write(`${JSON.stringify(peerLine)}\n${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    }
  } finally {
    await rm(modelDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:texture failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
