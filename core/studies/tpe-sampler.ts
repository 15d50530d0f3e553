import { type Dimension, internalValues } from './dimensions.ts';
import { ParzenEstimator } from './parzen-estimator.ts';
import type { Prng } from './prng.ts';
import { sampleRandom } from './random-sampler.ts';
import type { TpeSamplerOptions } from './sampler-options.ts';
import type { Choice, ParamValues } from './search-space.ts';
import { rankComplete, type TrialHistory } from './trial-history.ts';

interface Point {
  params: ParamValues;
  weight: number;
}

/**
 * Optuna's default weights: equal for up to 25 observations; beyond, the oldest ramp down
 * linearly from 1/n while the newest 25 keep weight 1.
 */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const rampLength = n - 25;
  const ramp = Array.from({ length: rampLength }, (_, i) =>
    rampLength === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (rampLength - 1),
  );
  return [...ramp, ...new Array<number>(25).fill(1)];
}

/**
 * The Tree-structured Parzen Estimator. After `nStartupTrials` (priors count towards them) it
 * splits the finished trials into the best gamma(n) ("good", l) and the rest plus pruned ones
 * ("bad", g), fits a Parzen estimator to each, draws `nEiCandidates` from l and returns the
 * draw with the highest l(x)/g(x), which maximises expected improvement (Bergstra et al. 2011).
 * Warm-start priors join l or g with their own weight, scaled by
 * priorDecayTrials / (priorDecayTrials + n) so that the study's own trials take over.
 */
export function sampleTpe(
  dims: readonly Dimension[],
  history: TrialHistory,
  options: TpeSamplerOptions,
  rng: Prng,
): ParamValues {
  const own = history.trials;
  if (own.length + history.priors.length < options.nStartupTrials) return sampleRandom(dims, rng);

  // The split, as Optuna's: gamma over all finished trials, filled from the complete ones.
  const ranked = rankComplete(history.direction, own);
  const nGood = Math.min(
    ranked.length,
    Math.min(Math.ceil(options.gammaFraction * own.length), options.gammaMax),
  );
  const goodTrials = ranked.slice(0, nGood).sort((a, b) => a.number - b.number);
  const goodNumbers = new Set(goodTrials.map((t) => t.number));
  const badTrials = own
    .filter((t) => !goodNumbers.has(t.number))
    .sort((a, b) => a.number - b.number);

  const good: Point[] = weighted(goodTrials.map((t) => t.params));
  const bad: Point[] = weighted(badTrials.map((t) => t.params));
  if (options.constantLiar) {
    for (const params of history.running ?? []) bad.push({ params, weight: 1 });
  }
  // Borrowed evidence gives way to the study's own as its trials accumulate.
  const priorFactor = options.priorDecayTrials / (options.priorDecayTrials + own.length);
  for (const prior of history.priors) {
    (prior.good ? good : bad).push({ params: prior.params, weight: prior.weight * priorFactor });
  }

  // Multivariate: one estimator over all dimensions; otherwise one per dimension.
  const groups = options.multivariate ? [dims] : dims.map((d) => [d]);
  const params: ParamValues = {};
  for (const group of groups) {
    const parzen = {
      priorWeight: options.priorWeight,
      magicClip: options.magicClip,
      multivariate: options.multivariate,
      bandwidth: options.bandwidth,
    };
    const [goodObs, goodWeights] = observationsOf(group, good);
    const [badObs, badWeights] = observationsOf(group, bad);
    const l = new ParzenEstimator(group, goodObs, goodWeights, parzen);
    const g = new ParzenEstimator(group, badObs, badWeights, parzen);

    let best: number[] | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const candidate of l.sample(rng, options.nEiCandidates)) {
      const score = l.logPdf(candidate) - g.logPdf(candidate);
      if (best === undefined || score > bestScore) {
        best = candidate;
        bestScore = score;
      }
    }
    group.forEach((dim, j) => {
      params[dim.name] = dim.toExternal((best as number[])[j] as number) as Choice;
    });
  }
  return params;
}

function weighted(params: ParamValues[]): Point[] {
  const weights = defaultWeights(params.length);
  return params.map((p, i) => ({ params: p, weight: weights[i] as number }));
}

/** The points that have a legal value on every dimension of `group`, as internal vectors. */
function observationsOf(
  group: readonly Dimension[],
  points: readonly Point[],
): [number[][], number[]] {
  const observations: number[][] = [];
  const weights: number[] = [];
  for (const point of points) {
    const values = internalValues(group, point.params);
    if (values.some((v) => v === undefined)) continue;
    observations.push(values as number[]);
    weights.push(point.weight);
  }
  return [observations, weights];
}
