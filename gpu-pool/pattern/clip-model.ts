import { Tensor } from 'onnxruntime-node';
import { z } from 'zod';
import type { ImageInputError } from '../images/decode-image.ts';
import type { LoadedModel } from '../models/model-repository.ts';
import { decodeImageTensor } from '../texture/decode-image.ts';
import { ClipTokenizer } from './clip-tokenizer.ts';

/** The model folder `pattern.match` loads: `<MODEL_DIR>/pattern-clip/<version>/`. */
export const PATTERN_CLIP_MODEL = 'pattern-clip';

/** The companion role of the text encoder and the asset roles of the tokenizer files. */
export const TEXT_ENCODER_ROLE = 'text-encoder';
export const VOCAB_ASSET = 'vocab';
export const MERGES_ASSET = 'merges';

/**
 * Tensor names of the pair, as CLIP exports name them: the image encoder (the manifest's main
 * file) takes `pixel_values` and answers `image_embeds`; the text encoder (companion
 * `text-encoder`) takes `input_ids` and `attention_mask` (int64) and answers `text_embeds`.
 */
export const CLIP_TENSORS = {
  pixels: 'pixel_values',
  imageEmbeds: 'image_embeds',
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  textEmbeds: 'text_embeds',
} as const;

/** The `preprocessing` block of a pattern-clip manifest. */
export const clipSettingsSchema = z.object({
  imageSize: z.int().min(8).max(1024),
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  contextLength: z.int().min(3).max(1024),
  /** Multiplies cosine similarities before the softmax, as CLIP's learned temperature. */
  logitScale: z.number().positive().default(100),
});

/** Validated preprocessing settings of the pair. */
export type ClipSettings = z.infer<typeof clipSettingsSchema>;

/** A loaded pair: the model, its settings and its tokenizer. */
export interface ClipPair {
  model: LoadedModel;
  settings: ClipSettings;
  tokenizer: ClipTokenizer;
}

const pairs = new WeakMap<LoadedModel, Promise<ClipPair>>();

/**
 * The pair of a loaded pattern-clip model, read once per model: its settings from the
 * manifest and its tokenizer from the `vocab` and `merges` assets. Rejects when either is
 * missing or malformed.
 */
export function clipPairOf(model: LoadedModel): Promise<ClipPair> {
  let pair = pairs.get(model);
  if (!pair) {
    pair = (async () => {
      const settings = clipSettingsSchema.parse(model.manifest.preprocessing ?? {});
      const vocab = model.assetPath(VOCAB_ASSET);
      const merges = model.assetPath(MERGES_ASSET);
      if (!vocab || !merges) {
        throw new Error(
          `The ${model.name} manifest lists no ${VOCAB_ASSET} and ${MERGES_ASSET} assets.`,
        );
      }
      return { model, settings, tokenizer: await ClipTokenizer.fromFiles(vocab, merges) };
    })();
    pair.catch(() => pairs.delete(model));
    pairs.set(model, pair);
  }
  return pair;
}

/** One image's unit-length embedding, or why it could not be read. */
export type ImageEncoding =
  | { ok: true; embedding: Float32Array }
  | { ok: false; error: ImageInputError };

/**
 * Decodes every image (cover-resized and centre-cropped to the model's size, normalised by its
 * mean and std) and encodes those that decoded in one `session.run`.
 */
export async function encodeImages(
  pair: ClipPair,
  images: readonly Uint8Array[],
): Promise<ImageEncoding[]> {
  const { imageSize: size, mean, std } = pair.settings;
  const decoded = await Promise.all(
    images.map((bytes) => decodeImageTensor(bytes, size).catch((error: ImageInputError) => error)),
  );
  const good = decoded.filter((d): d is Float32Array => d instanceof Float32Array);
  if (good.length === 0) return decoded.map((d) => ({ ok: false, error: d as ImageInputError }));

  const plane = size * size;
  const stacked = new Float32Array(good.length * 3 * plane);
  good.forEach((tensor, row) => {
    for (let c = 0; c < 3; c++) {
      const [m, s] = [mean[c] as number, std[c] as number];
      const offset = (row * 3 + c) * plane;
      for (let i = 0; i < plane; i++) {
        stacked[offset + i] = ((tensor[c * plane + i] as number) - m) / s;
      }
    }
  });
  const outputs = await pair.model.run({
    [CLIP_TENSORS.pixels]: new Tensor('float32', stacked, [good.length, 3, size, size]),
  });
  const embeds = unitRows(outputs[CLIP_TENSORS.imageEmbeds]?.data as Float32Array, good.length);

  let row = 0;
  return decoded.map((entry) =>
    entry instanceof Float32Array
      ? { ok: true as const, embedding: embeds[row++] as Float32Array }
      : { ok: false as const, error: entry },
  );
}

/**
 * Tokenizes `texts` and encodes them in one `session.run` of the text encoder, padded to the
 * longest text of the batch (or to the context length when the encoder's sequence is fixed).
 */
export async function encodeTexts(
  pair: ClipPair,
  texts: readonly string[],
): Promise<Float32Array[]> {
  const { contextLength } = pair.settings;
  const tokenized = texts.map((text) => pair.tokenizer.encode(text, contextLength));
  const fixed = pair.model.manifest.companions
    ?.find((c) => c.role === TEXT_ENCODER_ROLE)
    ?.inputs.find((i) => i.name === CLIP_TENSORS.inputIds)?.shape[1];
  const length =
    typeof fixed === 'number'
      ? fixed
      : Math.max(...tokenized.map((t) => t.mask.reduce((a, b) => a + b, 0)));

  const ids = new BigInt64Array(texts.length * length);
  const mask = new BigInt64Array(texts.length * length);
  tokenized.forEach((t, row) => {
    for (let i = 0; i < length; i++) {
      ids[row * length + i] = BigInt(t.ids[i] ?? 0);
      mask[row * length + i] = BigInt(t.mask[i] ?? 0);
    }
  });
  const outputs = await pair.model.runCompanion(TEXT_ENCODER_ROLE, {
    [CLIP_TENSORS.inputIds]: new Tensor('int64', ids, [texts.length, length]),
    [CLIP_TENSORS.attentionMask]: new Tensor('int64', mask, [texts.length, length]),
  });
  return unitRows(outputs[CLIP_TENSORS.textEmbeds]?.data as Float32Array, texts.length);
}

function unitRows(data: Float32Array | undefined, rows: number): Float32Array[] {
  if (!data) throw new Error('The encoder answered without its embeddings.');
  const width = data.length / rows;
  return Array.from({ length: rows }, (_, row) => {
    const vector = data.slice(row * width, (row + 1) * width);
    const norm = Math.hypot(...vector) || 1;
    return vector.map((v) => v / norm);
  });
}
