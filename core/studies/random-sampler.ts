import type { Dimension } from './dimensions.ts';
import type { Prng } from './prng.ts';
import type { Choice, ParamValues } from './search-space.ts';

/** One uniform draw on a dimension, in its internal space (log for log scales). */
export function sampleUniformInternal(dim: Dimension, rng: Prng): number {
  if (dim.kind === 'categorical') return rng.int(dim.choices.length);
  if (dim.step !== undefined) {
    const points = Math.floor((dim.high - dim.low) / dim.step + 1e-9) + 1;
    return dim.low + rng.int(points) * dim.step;
  }
  return dim.low + rng.next() * (dim.high - dim.low);
}

/**
 * Optuna's random sampler: each parameter independently uniform on its scale (log-uniform for
 * log scales, each grid point equally likely, each choice equally likely).
 */
export function sampleRandom(dims: readonly Dimension[], rng: Prng): ParamValues {
  const params: ParamValues = {};
  for (const dim of dims) {
    params[dim.name] = dim.toExternal(sampleUniformInternal(dim, rng)) as Choice;
  }
  return params;
}
