import { TEXTURE_EMBEDDING_DIMS } from '../../core/catalog/texture-embedding.ts';

/**
 * The design of `kai-texture-net`, Kai's own texture descriptor: every number the generated
 * graph is computed from. Nothing here is learned; change a value and the embedding changes,
 * so a change needs a new model version (and re-embedding the catalog).
 */
export const TEXTURE_NET = {
  name: 'kai-texture-net',
  version: '1',
  /** Side of the square RGB input the handler crops and resizes every image to. */
  inputSize: 128,
  /** Resolutions the Gabor bank runs at: the input, then halved by 2x2 average pooling. */
  levels: 3,
  /** Orientations of the bank, evenly spaced over [0, pi). */
  orientations: 6,
  /** Wavelengths in pixels of the level they run at: half an octave apart. */
  wavelengthsPx: [4, 4 * Math.SQRT2],
  /** Gaussian envelope width as a fraction of the wavelength (about one octave bandwidth). */
  sigmaPerWavelength: 0.56,
  /** Side of every Gabor kernel; the convolution is unpadded, so borders add no energy. */
  kernelSize: 17,
  /** Rotation-invariant harmonics |DFT_k| over orientations kept per scale: k = 0..3. */
  harmonics: 4,
  /** The colour block's weight against the unit-length texture block before the final norm. */
  colourWeight: 0.5,
  /** Exponent applied to the texture features before their norm, which evens out scales. */
  texturePower: 0.5,
  /** Added under square roots so that flat images give zeros, not NaNs. */
  epsilon: 1e-8,
} as const;

/** How many scales the bank covers: levels times wavelengths. */
export const TEXTURE_SCALES = TEXTURE_NET.levels * TEXTURE_NET.wavelengthsPx.length;

/** Texture features: per scale, harmonics of the mean and of the spatial std of the energy. */
export const TEXTURE_FEATURES = TEXTURE_SCALES * TEXTURE_NET.harmonics * 2;

/** Colour features: mean and std of the three opponent channels. */
export const COLOUR_FEATURES = 6;

if (TEXTURE_FEATURES + COLOUR_FEATURES !== TEXTURE_EMBEDDING_DIMS) {
  throw new Error('The texture net design and TEXTURE_EMBEDDING_DIMS disagree.');
}

/** What one dimension of the embedding measures, for the manifest and for people. */
export interface EmbeddingDimension {
  index: number;
  block: 'texture' | 'colour';
  meaning: string;
}

/**
 * Names every dimension of the embedding in order. Texture dimensions come per level, per
 * wavelength: first the harmonics of the mean energy, then those of its spatial std.
 */
export function embeddingDimensions(): EmbeddingDimension[] {
  const dims: EmbeddingDimension[] = [];
  for (let level = 0; level < TEXTURE_NET.levels; level++) {
    const factor = 2 ** level;
    for (const statistic of ['mean', 'spatial std'] as const) {
      for (const wavelength of TEXTURE_NET.wavelengthsPx) {
        for (let k = 0; k < TEXTURE_NET.harmonics; k++) {
          const px = Math.round(wavelength * factor * 10) / 10;
          const what =
            k === 0
              ? 'summed over orientations'
              : `orientation harmonic ${k} (anisotropy, rotation-invariant)`;
          dims.push({
            index: dims.length,
            block: 'texture',
            meaning: `Gabor energy ${statistic} at wavelength ${px} px of the input, ${what}`,
          });
        }
      }
    }
  }
  const channels = [
    'red-green (R-G)/sqrt2',
    'yellow-blue (R+G-2B)/sqrt6',
    'intensity (R+G+B)/sqrt3',
  ];
  for (const statistic of ['mean', 'std']) {
    for (const channel of channels) {
      dims.push({ index: dims.length, block: 'colour', meaning: `${statistic} of ${channel}` });
    }
  }
  return dims;
}
