import { COLOUR_FEATURES, TEXTURE_FEATURES, TEXTURE_NET } from './texture-net-spec.ts';

/**
 * A kai-texture-net embedding as the net would have made it with another colour weight:
 * the net joins its unit-length texture block with the colour block times
 * `TEXTURE_NET.colourWeight` and scales the whole to unit length, so multiplying the colour
 * dimensions by `colourWeight / TEXTURE_NET.colourWeight` and scaling to unit length again is
 * exact (up to the net's epsilon). 0 leaves texture alone; the answer is unit length.
 */
export function withColourWeight(embedding: readonly number[], colourWeight: number): number[] {
  if (embedding.length !== TEXTURE_FEATURES + COLOUR_FEATURES) {
    throw new Error(
      `A kai-texture-net embedding has ${TEXTURE_FEATURES + COLOUR_FEATURES} dimensions, ` +
        `not ${embedding.length}.`,
    );
  }
  const factor = colourWeight / TEXTURE_NET.colourWeight;
  const scaled = embedding.map((value, i) => (i < TEXTURE_FEATURES ? value : value * factor));
  const norm = Math.sqrt(scaled.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? scaled : scaled.map((value) => value / norm);
}
