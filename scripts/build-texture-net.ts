// `npm run build:models` writes `kai-texture-net` through `buildTextureNet`: Kai's own texture
// descriptor as an ONNX graph. Its weights are computed from formulas (Gabor kernels, colour
// transforms, Fourier coefficients), never trained, so every run writes the same bytes.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TEXTURE_EMBEDDING_DIMS } from '../core/catalog/texture-embedding.ts';
import type { ModelManifestInput } from '../gpu-pool/models/manifest.ts';
import { GraphBuilder } from '../gpu-pool/texture/onnx-graph.ts';
import {
  COLOUR_FEATURES,
  embeddingDimensions,
  TEXTURE_FEATURES,
  TEXTURE_NET,
} from '../gpu-pool/texture/texture-net-spec.ts';

/** Where `buildTextureNet` wrote the model. */
export interface BuiltTextureNet {
  modelPath: string;
  manifestPath: string;
  parameterCount: number;
  modelBytes: number;
}

/** One Gabor kernel pair: even (cosine, zero mean) and odd (sine), each of unit L2 norm. */
export function gaborPair(wavelengthPx: number, thetaRad: number): [Float32Array, Float32Array] {
  const size = TEXTURE_NET.kernelSize;
  const half = (size - 1) / 2;
  const sigma = TEXTURE_NET.sigmaPerWavelength * wavelengthPx;
  const even = new Float64Array(size * size);
  const odd = new Float64Array(size * size);
  const envelope = new Float64Array(size * size);

  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Rows grow downwards; theta is the direction across the stripes the filter answers.
      const dx = x - half;
      const dy = y - half;
      const along = dx * Math.cos(thetaRad) + dy * Math.sin(thetaRad);
      const g = Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
      const i = y * size + x;
      envelope[i] = g;
      even[i] = g * Math.cos((2 * Math.PI * along) / wavelengthPx);
      odd[i] = g * Math.sin((2 * Math.PI * along) / wavelengthPx);
    }
  }

  // The even kernel must ignore flat brightness: take out its DC along the envelope.
  const dc = even.reduce((a, b) => a + b, 0) / envelope.reduce((a, b) => a + b, 0);
  for (let i = 0; i < even.length; i++)
    even[i] = (even[i] as number) - dc * (envelope[i] as number);

  return [unitNorm(even), unitNorm(odd)];
}

function unitNorm(values: Float64Array): Float32Array {
  const norm = Math.sqrt(values.reduce((a, b) => a + b * b, 0));
  return Float32Array.from(values, (v) => v / norm);
}

/** The angle of orientation `index`, evenly over [0, pi). */
export function orientationRad(index: number): number {
  return (index * Math.PI) / TEXTURE_NET.orientations;
}

/**
 * Writes `kai-texture-net` to `<outDir>/kai-texture-net/<version>/`: input `image`
 * [batch, 3, 128, 128] RGB in [0, 1], output `embedding` [batch, 54], unit length.
 */
export async function buildTextureNet(outDir: string): Promise<BuiltTextureNet> {
  const { name, version, inputSize } = TEXTURE_NET;
  const graph = new GraphBuilder(name);
  const image = graph.input('image', 'float32', ['batch', 3, inputSize, inputSize]);

  const { features: texture, orientationEnergy } = textureBlock(graph, image);
  const colour = colourBlock(graph, image);
  const joined = graph.op('Concat', [texture, colour], { axis: 1 });
  const embedding = l2Normalise(graph, joined);
  graph.output(embedding, 'embedding', 'float32', ['batch', TEXTURE_EMBEDDING_DIMS]);
  graph.output(orientationEnergy, 'orientation_energy', 'float32', [
    'batch',
    TEXTURE_NET.orientations,
  ]);

  const modelBytes = graph.encode(
    `kai-texture-net v${version}: Gabor energy bank at ${TEXTURE_NET.levels} resolutions with ` +
      'rotation-invariant orientation harmonics, plus opponent colour statistics. Computed, ' +
      'not trained.',
  );
  const manifest = textureNetManifest();

  const versionDir = join(outDir, name, version);
  const modelPath = join(versionDir, 'model.onnx');
  const manifestPath = join(versionDir, 'manifest.json');
  await mkdir(versionDir, { recursive: true });
  await writeFile(modelPath, modelBytes);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return {
    modelPath,
    manifestPath,
    parameterCount: graph.parameterCount,
    modelBytes: modelBytes.byteLength,
  };
}

/**
 * Luma, then per level: Gabor energy, its mean and spatial std, and their harmonics. Also the
 * mean energy per orientation summed over scales, which says which way a pattern runs.
 */
function textureBlock(
  graph: GraphBuilder,
  image: string,
): { features: string; orientationEnergy: string } {
  const { orientations, wavelengthsPx, kernelSize, epsilon } = TEXTURE_NET;
  const luma = graph.op('Conv', [image, graph.floats('luma', [1, 3, 1, 1], [0.299, 0.587, 0.114])]);

  // The bank: channel (w * orientations + o) * 2 + phase, phase 0 even and 1 odd.
  const filters = wavelengthsPx.length * orientations;
  const bank = new Float32Array(filters * 2 * kernelSize * kernelSize);
  const taps = kernelSize * kernelSize;
  wavelengthsPx.forEach((wavelength, w) => {
    for (let o = 0; o < orientations; o++) {
      const [even, odd] = gaborPair(wavelength, orientationRad(o));
      const channel = (w * orientations + o) * 2;
      bank.set(even, channel * taps);
      bank.set(odd, (channel + 1) * taps);
    }
  });
  const bankWeights = graph.floats('gabor', [filters * 2, 1, kernelSize, kernelSize], bank);

  // Squared even plus squared odd response, one 1x1 convolution summing each pair.
  const pairs = new Float32Array(filters * filters * 2);
  for (let f = 0; f < filters; f++) {
    pairs[f * filters * 2 + f * 2] = 1;
    pairs[f * filters * 2 + f * 2 + 1] = 1;
  }
  const pairWeights = graph.floats('pairs', [filters, filters * 2, 1, 1], pairs);
  const [cosine, sine] = harmonicMatrices(graph);
  const eps = graph.floats('eps', [], [epsilon]);

  // Sums the wavelengths of each orientation: [filters, orientations].
  const byOrientation = new Float32Array(filters * orientations);
  for (let f = 0; f < filters; f++) byOrientation[f * orientations + (f % orientations)] = 1;
  const orientationSum = graph.floats('by_orientation', [filters, orientations], byOrientation);

  const perLevel: string[] = [];
  const orientationPerLevel: string[] = [];
  let plane = luma;
  for (let level = 0; level < TEXTURE_NET.levels; level++) {
    if (level > 0) {
      plane = graph.op('AveragePool', [plane], { kernel_shape: [2, 2], strides: [2, 2] });
    }
    const response = graph.op('Conv', [plane, bankWeights], {
      kernel_shape: [kernelSize, kernelSize],
      pads: [0, 0, 0, 0],
    });
    const squared = graph.op('Mul', [response, response]);
    const energy = graph.op('Sqrt', [
      graph.op('Add', [graph.op('Conv', [squared, pairWeights]), eps]),
    ]);

    const mean = graph.op('ReduceMean', [energy], { axes: [2, 3], keepdims: 0 });
    const meanSquare = graph.op('ReduceMean', [graph.op('Mul', [energy, energy])], {
      axes: [2, 3],
      keepdims: 0,
    });
    const variance = graph.op('Relu', [
      graph.op('Sub', [meanSquare, graph.op('Mul', [mean, mean])]),
    ]);
    const std = graph.op('Sqrt', [graph.op('Add', [variance, eps])]);
    orientationPerLevel.push(graph.op('MatMul', [mean, orientationSum]));

    for (const statistic of [mean, std]) {
      const re = graph.op('MatMul', [statistic, cosine]);
      const im = graph.op('MatMul', [statistic, sine]);
      const power = graph.op('Add', [graph.op('Mul', [re, re]), graph.op('Mul', [im, im])]);
      perLevel.push(graph.op('Sqrt', [graph.op('Add', [power, eps])]));
    }
  }

  // Compress, then scale the whole block to unit length: contrast drops out.
  const features = graph.op('Concat', perLevel, { axis: 1 });
  const exponent = graph.floats('power', [], [TEXTURE_NET.texturePower]);
  const compressed = graph.op('Pow', [features, exponent]);
  const orientationEnergy = orientationPerLevel
    .slice(1)
    .reduce((sum, level) => graph.op('Add', [sum, level]), orientationPerLevel[0] as string);
  return { features: l2Normalise(graph, compressed), orientationEnergy };
}

/**
 * [filters, wavelengths * harmonics] matrices taking the orientation profile of each
 * wavelength to the real and imaginary parts of its Fourier coefficients over orientation.
 * Rotating the image shifts the profile cyclically, which leaves their magnitudes unchanged.
 */
function harmonicMatrices(graph: GraphBuilder): [string, string] {
  const { orientations, wavelengthsPx, harmonics } = TEXTURE_NET;
  const rows = wavelengthsPx.length * orientations;
  const cols = wavelengthsPx.length * harmonics;
  const cosine = new Float32Array(rows * cols);
  const sine = new Float32Array(rows * cols);
  for (let w = 0; w < wavelengthsPx.length; w++) {
    for (let o = 0; o < orientations; o++) {
      for (let k = 0; k < harmonics; k++) {
        const angle = (2 * Math.PI * k * o) / orientations;
        const at = (w * orientations + o) * cols + w * harmonics + k;
        cosine[at] = Math.cos(angle) / orientations;
        sine[at] = Math.sin(angle) / orientations;
      }
    }
  }
  return [
    graph.floats('harmonics_cos', [rows, cols], cosine),
    graph.floats('harmonics_sin', [rows, cols], sine),
  ];
}

/** Opponent colour means and stds, weighted against the texture block. */
function colourBlock(graph: GraphBuilder, image: string): string {
  const s2 = Math.SQRT2;
  const s6 = Math.sqrt(6);
  const s3 = Math.sqrt(3);
  const opponent = [1 / s2, -1 / s2, 0, 1 / s6, 1 / s6, -2 / s6, 1 / s3, 1 / s3, 1 / s3];
  const channels = graph.op('Conv', [image, graph.floats('opponent', [3, 3, 1, 1], opponent)]);

  const mean = graph.op('ReduceMean', [channels], { axes: [2, 3], keepdims: 0 });
  const meanSquare = graph.op('ReduceMean', [graph.op('Mul', [channels, channels])], {
    axes: [2, 3],
    keepdims: 0,
  });
  const variance = graph.op('Relu', [graph.op('Sub', [meanSquare, graph.op('Mul', [mean, mean])])]);
  const std = graph.op('Sqrt', [
    graph.op('Add', [variance, graph.floats('eps', [], [TEXTURE_NET.epsilon])]),
  ]);

  const stats = graph.op('Concat', [mean, std], { axis: 1 });
  return graph.op('Mul', [stats, graph.floats('colour_weight', [], [TEXTURE_NET.colourWeight])]);
}

/** x / sqrt(sum(x^2) + eps) along axis 1. */
function l2Normalise(graph: GraphBuilder, value: string): string {
  const sumSquare = graph.op('ReduceSumSquare', [value], { axes: [1], keepdims: 1 });
  const norm = graph.op('Sqrt', [
    graph.op('Add', [sumSquare, graph.floats('eps', [], [TEXTURE_NET.epsilon])]),
  ]);
  return graph.op('Div', [value, norm]);
}

/** The manifest: what the net is, that it is not trained, and what every dimension means. */
export function textureNetManifest(): ModelManifestInput {
  const { name, version, inputSize } = TEXTURE_NET;
  return {
    name,
    version,
    description:
      "Kai's own texture descriptor, computed and not trained: a bank of Gabor filters " +
      `(${TEXTURE_NET.orientations} orientations, wavelengths ${TEXTURE_NET.wavelengthsPx
        .map((w) => w.toFixed(2))
        .join(' and ')} px) run on the luma at ${TEXTURE_NET.levels} resolutions (2x2 ` +
      'average pooling between them), with energy pooling (mean and spatial std of the ' +
      'complex magnitude), rotation-invariant harmonics over orientation, and opponent colour ' +
      `means and stds; concatenated into ${TEXTURE_EMBEDDING_DIMS} numbers of unit length, ` +
      'compared by cosine. It describes texture and colour; it has never seen a material.',
    file: 'model.onnx',
    inputs: [{ name: 'image', dtype: 'float32', shape: ['batch', 3, inputSize, inputSize] }],
    outputs: [
      { name: 'embedding', dtype: 'float32', shape: ['batch', TEXTURE_EMBEDDING_DIMS] },
      {
        name: 'orientation_energy',
        dtype: 'float32',
        shape: ['batch', TEXTURE_NET.orientations],
      },
    ],
    preprocessing: {
      kind: 'image',
      layout: 'NCHW',
      channels: 'RGB, sRGB values scaled to [0, 1], alpha dropped, EXIF orientation applied',
      resize: `cover-resize to ${inputSize}x${inputSize}, centre crop`,
      trained: false,
      textureFeatures: TEXTURE_FEATURES,
      colourFeatures: COLOUR_FEATURES,
      design: { ...TEXTURE_NET },
      dimensions: embeddingDimensions().map((d) => `${d.index}: ${d.meaning}`),
    },
    preferredBatchSizes: [1, 2, 4, 8, 16, 32],
    maxQueueDelayMs: 5,
    executionProviders: ['cuda', 'cpu'],
    synthetic: false,
  };
}
