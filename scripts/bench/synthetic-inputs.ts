/** The width of the synthetic-mlp model's input vectors. */
export const SYNTHETIC_INPUT_WIDTH = 256;

/**
 * The input vector of sample `index`: fixed values in [-1, 1], so raw runs and pool jobs see
 * the same data on every run without a random generator.
 */
export function syntheticInput(index: number): number[] {
  return Array.from({ length: SYNTHETIC_INPUT_WIDTH }, (_, i) =>
    Math.sin(index * 12.9898 + i * 78.233),
  );
}
