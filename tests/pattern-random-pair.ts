// A tiny CLIP-shaped pair with RANDOM weights, for tests only: it matches nothing, it exists to
// exercise pattern.match's real loading (manifest, companion graph, tokenizer assets),
// tokenizing, batching and ranking. The weights are returned so tests can compute the expected
// embeddings by hand.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32 } from '../core/random/mulberry32.ts';
import type { ModelManifestInput } from '../gpu-pool/models/manifest.ts';
import {
  byteToUnicode,
  ClipTokenizer,
  END_OF_TEXT,
  START_OF_TEXT,
} from '../gpu-pool/pattern/clip-tokenizer.ts';
import { GraphBuilder } from '../gpu-pool/texture/onnx-graph.ts';

/** Side of the random image encoder's input. */
export const RANDOM_PAIR_IMAGE_SIZE = 32;
/** Width of both encoders' embeddings. */
export const RANDOM_PAIR_DIMS = 16;
/** Words the tiny vocabulary has whole tokens for; other text falls back to bytes. */
export const RANDOM_PAIR_WORDS = ['red', 'blue', 'marble', 'oak', 'tile', 'granite', 'wood'];

const POOLED = 3 * 4 * 4;
const MEAN = [0.48, 0.46, 0.41] as const;
const STD = [0.27, 0.26, 0.28] as const;

/** What the random pair is made of, to compute expected answers from. */
export interface RandomPair {
  versionDir: string;
  vocab: Record<string, number>;
  /** [48, dims]: pooled 4x4 pixels of each channel to the image embedding. */
  imageWeights: Float32Array;
  /** [vocab, dims]: the token embedding table. */
  tokenEmbeddings: Float32Array;
  /** [dims, dims]: mean token embedding to the text embedding. */
  textWeights: Float32Array;
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Writes `<modelDir>/pattern-clip/<version>/` with a random image encoder (4x4 average pool,
 * then one matrix), a random text encoder (token embeddings, masked mean, one matrix), a tiny
 * byte-level BPE vocabulary and its merges, and a manifest that says it is random.
 */
export async function writeRandomClipPair(
  modelDir: string,
  options: { version?: string; seed?: number; omit?: 'merges' } = {},
): Promise<RandomPair> {
  const version = options.version ?? '1';
  const random = mulberry32(options.seed ?? 7);
  const uniform = (count: number) => Float32Array.from({ length: count }, () => random() * 2 - 1);

  const { vocab, merges } = tinyVocabulary();
  const vocabSize = Object.keys(vocab).length;
  const imageWeights = uniform(POOLED * RANDOM_PAIR_DIMS);
  const tokenEmbeddings = uniform(vocabSize * RANDOM_PAIR_DIMS);
  const textWeights = uniform(RANDOM_PAIR_DIMS * RANDOM_PAIR_DIMS);
  const size = RANDOM_PAIR_IMAGE_SIZE;

  // Image encoder: pixel_values [batch, 3, 32, 32] -> image_embeds [batch, 16].
  const image = new GraphBuilder('random-clip-image');
  const pixels = image.input('pixel_values', 'float32', ['batch', 3, size, size]);
  const pooled = image.op('AveragePool', [pixels], { kernel_shape: [8, 8], strides: [8, 8] });
  const flat = image.op('Flatten', [pooled], { axis: 1 });
  const imageOut = image.op('MatMul', [
    flat,
    image.floats('w', [POOLED, RANDOM_PAIR_DIMS], imageWeights),
  ]);
  image.output(imageOut, 'image_embeds', 'float32', ['batch', RANDOM_PAIR_DIMS]);

  // Text encoder: input_ids, attention_mask [batch, seq] -> text_embeds [batch, 16].
  const text = new GraphBuilder('random-clip-text');
  const ids = text.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = text.input('attention_mask', 'int64', ['batch', 'sequence']);
  const table = text.floats('tokens', [vocabSize, RANDOM_PAIR_DIMS], tokenEmbeddings);
  const embedded = text.op('Gather', [table, ids], { axis: 0 });
  const weights = text.op('Cast', [mask], { to: 1 });
  const weights3 = text.op('Unsqueeze', [weights, text.ints('axes', [2])]);
  const summed = text.op(
    'ReduceSum',
    [text.op('Mul', [embedded, weights3]), text.ints('axes', [1])],
    {
      keepdims: 0,
    },
  );
  const count = text.op('ReduceSum', [weights, text.ints('axes', [1])], { keepdims: 1 });
  const meanToken = text.op('Div', [summed, count]);
  const textOut = text.op('MatMul', [
    meanToken,
    text.floats('w', [RANDOM_PAIR_DIMS, RANDOM_PAIR_DIMS], textWeights),
  ]);
  text.output(textOut, 'text_embeds', 'float32', ['batch', RANDOM_PAIR_DIMS]);

  const manifest: ModelManifestInput = {
    name: 'pattern-clip',
    version,
    description:
      'RANDOM weights, for tests only: a tiny CLIP-shaped image and text encoder pair that ' +
      'matches nothing; it exercises the pattern.match loading, tokenizing and ranking code.',
    file: 'image-encoder.onnx',
    inputs: [{ name: 'pixel_values', dtype: 'float32', shape: ['batch', 3, size, size] }],
    outputs: [{ name: 'image_embeds', dtype: 'float32', shape: ['batch', RANDOM_PAIR_DIMS] }],
    companions: [
      {
        role: 'text-encoder',
        file: 'text-encoder.onnx',
        inputs: [
          { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
          { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] },
        ],
        outputs: [{ name: 'text_embeds', dtype: 'float32', shape: ['batch', RANDOM_PAIR_DIMS] }],
      },
    ],
    assets: { vocab: 'vocab.json', merges: 'merges.txt' },
    preprocessing: {
      imageSize: size,
      mean: [...MEAN],
      std: [...STD],
      contextLength: 16,
      logitScale: 10,
    },
    preferredBatchSizes: [1, 4, 8],
    maxQueueDelayMs: 20,
    executionProviders: ['cpu'],
    synthetic: true,
  };

  const versionDir = join(modelDir, 'pattern-clip', version);
  await mkdir(versionDir, { recursive: true });
  await writeFile(join(versionDir, 'image-encoder.onnx'), image.encode('random, tests only'));
  await writeFile(join(versionDir, 'text-encoder.onnx'), text.encode('random, tests only'));
  await writeFile(join(versionDir, 'vocab.json'), JSON.stringify(vocab));
  if (options.omit !== 'merges') {
    await writeFile(join(versionDir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  }
  await writeFile(join(versionDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { versionDir, vocab, imageWeights, tokenEmbeddings, textWeights, mean: MEAN, std: STD };
}

/** Every byte symbol (alone and word-final), the words' merges, then start and end. */
function tinyVocabulary(): { vocab: Record<string, number>; merges: string[] } {
  const symbols = byteToUnicode();
  const tokens = [...symbols, ...symbols.map((s) => `${s}</w>`)];
  const merges: string[] = [];
  const specials = { [START_OF_TEXT]: 0, [END_OF_TEXT]: 1 };
  for (const word of RANDOM_PAIR_WORDS) {
    // Merge what the merges so far leave of the word, left to right, into one token; earlier
    // words are single tokens already, so the new merges cannot change them.
    const symbols = new ClipTokenizer(specials, merges).tokens(word);
    let current = symbols[0] as string;
    for (const next of symbols.slice(1)) {
      merges.push(`${current} ${next}`);
      current += next;
      tokens.push(current);
    }
  }
  tokens.push(START_OF_TEXT, END_OF_TEXT);
  const vocab: Record<string, number> = {};
  for (const token of tokens) if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  return { vocab, merges };
}
