import { dimensionsOf } from './dimensions.ts';
import { createPrng, mixSeed } from './prng.ts';
import { sampleRandom } from './random-sampler.ts';
import type { SamplerOptions } from './sampler-options.ts';
import { contains, type ParamValues, type SearchSpace } from './search-space.ts';
import { sampleTpe } from './tpe-sampler.ts';
import type { TrialHistory } from './trial-history.ts';

/**
 * The parameters of trial `number` of a study: the one place both the Postgres storage and the
 * in-memory studies of the benchmarks choose them. The draw depends only on the seed, the trial
 * number and the history, so the same study replayed gives the same trials.
 */
export function chooseParams(
  space: SearchSpace,
  sampler: SamplerOptions,
  seed: number,
  number: number,
  history: TrialHistory,
): ParamValues {
  const dims = dimensionsOf(space);
  const rng = createPrng(mixSeed(seed, number));
  const params =
    sampler.type === 'random' ? sampleRandom(dims, rng) : sampleTpe(dims, history, sampler, rng);

  // A trial with an illegal value must never be handed out or stored: that is a sampler bug.
  for (const [name, distribution] of Object.entries(space)) {
    if (!contains(distribution, params[name])) {
      throw new Error(
        `The ${sampler.type} sampler chose ${String(params[name])} for ${name}, outside its ` +
          'distribution; this is a bug in Kai.',
      );
    }
  }
  return params;
}
