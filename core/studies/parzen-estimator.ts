import type { Dimension } from './dimensions.ts';
import { normalMass, sampleTruncatedNormal } from './normal-distribution.ts';
import type { Prng } from './prng.ts';

/** How a Parzen estimator places its kernels; Optuna's names and defaults. */
export interface ParzenOptions {
  /** Weight of the prior kernel (centred, as wide as the range); 1 as in Optuna. */
  priorWeight: number;
  /** Floors bandwidths at range / min(100, kernels + 1), as Optuna's consider_magic_clip. */
  magicClip: boolean;
  /** Kernels joint over all dimensions (true) or over one. */
  multivariate: boolean;
  /** How wide each kernel is; see `tpeSamplerSchema`. */
  bandwidth: 'neighbour-gaps' | 'scott';
}

interface NumericKernels {
  kind: 'numeric';
  mus: Float64Array;
  sigmas: Float64Array;
  /** log of each kernel's mass inside the bounds, its truncation's normaliser. */
  logMasses: Float64Array;
}

interface CategoricalKernels {
  kind: 'categorical';
  /** logProbs[k][choice] */
  logProbs: Float64Array[];
}

/**
 * A weighted mixture of kernels over some dimensions, one kernel per observation plus a prior
 * kernel: the l(x) (good) or g(x) (bad) of TPE. Observations hold internal values (see
 * dimensions.ts), one per dimension, all present.
 */
export class ParzenEstimator {
  readonly dims: readonly Dimension[];
  private readonly logWeights: Float64Array;
  private readonly cumulative: Float64Array;
  private readonly kernels: (NumericKernels | CategoricalKernels)[];

  constructor(
    dims: readonly Dimension[],
    observations: readonly (readonly number[])[],
    weights: readonly number[],
    options: ParzenOptions,
  ) {
    this.dims = dims;
    const n = observations.length;

    // Weights: the observations' own, then the prior's; normalised.
    const all = [...weights, options.priorWeight];
    const total = all.reduce((a, b) => a + b, 0);
    this.logWeights = Float64Array.from(all, (w) => Math.log(w / total));
    this.cumulative = new Float64Array(all.length);
    let running = 0;
    all.forEach((w, k) => {
      running += w / total;
      this.cumulative[k] = running;
    });

    this.kernels = dims.map((dim, j) => {
      const column = observations.map((o) => o[j] as number);
      if (dim.kind === 'categorical')
        return categoricalKernels(dim.choices.length, column, options);
      return numericKernels(dim, column, n, dims.length, options);
    });
  }

  /** `count` draws, each an internal value per dimension. */
  sample(rng: Prng, count: number): number[][] {
    const draws: number[][] = [];
    for (let s = 0; s < count; s++) {
      const k = this.pickKernel(rng.next());
      draws.push(
        this.dims.map((dim, j) => {
          const kernels = this.kernels[j] as NumericKernels | CategoricalKernels;
          if (kernels.kind === 'categorical') {
            return pickIndex(kernels.logProbs[k] as Float64Array, rng.next());
          }
          const numeric = dim as Extract<Dimension, { kind: 'numeric' }>;
          const half = numeric.step === undefined ? 0 : numeric.step / 2;
          const x = sampleTruncatedNormal(
            rng.next(),
            kernels.mus[k] as number,
            kernels.sigmas[k] as number,
            numeric.low - half,
            numeric.high + half,
          );
          return numeric.step === undefined ? x : gridPoint(numeric, x);
        }),
      );
    }
    return draws;
  }

  /** log density (or mass, on grids and categories) of the mixture at `x`. */
  logPdf(x: readonly number[]): number {
    const terms = Float64Array.from(this.logWeights);
    this.dims.forEach((dim, j) => {
      const kernels = this.kernels[j] as NumericKernels | CategoricalKernels;
      const v = x[j] as number;
      for (let k = 0; k < terms.length; k++) {
        if (kernels.kind === 'categorical') {
          terms[k] = (terms[k] as number) + ((kernels.logProbs[k] as Float64Array)[v] as number);
          continue;
        }
        const numeric = dim as Extract<Dimension, { kind: 'numeric' }>;
        const mu = kernels.mus[k] as number;
        const sigma = kernels.sigmas[k] as number;
        const logMass = kernels.logMasses[k] as number;
        terms[k] =
          (terms[k] as number) +
          (numeric.step === undefined
            ? normalLogPdf(v, mu, sigma) - logMass
            : logCellMass(v, mu, sigma, numeric.step) - logMass);
      }
    });
    return logSumExp(terms);
  }

  private pickKernel(u: number): number {
    const c = this.cumulative;
    for (let k = 0; k < c.length; k++) if (u < (c[k] as number)) return k;
    return c.length - 1;
  }
}

function numericKernels(
  dim: Extract<Dimension, { kind: 'numeric' }>,
  column: readonly number[],
  n: number,
  nDims: number,
  options: ParzenOptions,
): NumericKernels {
  const half = dim.step === undefined ? 0 : dim.step / 2;
  const low = dim.low - half;
  const high = dim.high + half;
  // A one-value range (low = high) still gets kernels of some width, so no NaN arises.
  const range = Math.max(high - low, 1e-12 * Math.max(1, Math.abs(low)));
  const priorMu = (low + high) / 2;

  let sigmas: number[];
  if (options.multivariate && options.bandwidth === 'scott') {
    const sigma = 0.2 * Math.max(n, 1) ** (-1 / (nDims + 4)) * range;
    sigmas = column.map(() => sigma);
  } else {
    // Each kernel is as wide as the larger gap to its neighbours (the prior's mean included);
    // the outermost take their inner gap, as Optuna does without consider_endpoints.
    const withPrior = [...column, priorMu];
    const order = withPrior
      .map((_, i) => i)
      .sort((a, b) => (withPrior[a] as number) - (withPrior[b] as number));
    const sorted = order.map((i) => withPrior[i] as number);
    const padded = [low, ...sorted, high];
    const sortedSigmas = sorted.map((_, i) =>
      Math.max(
        (padded[i + 1] as number) - (padded[i] as number),
        (padded[i + 2] as number) - (padded[i + 1] as number),
      ),
    );
    if (padded.length >= 4) {
      sortedSigmas[0] = (padded[2] as number) - (padded[1] as number);
      sortedSigmas[sortedSigmas.length - 1] =
        (padded[padded.length - 2] as number) - (padded[padded.length - 3] as number);
    }
    const byIndex = new Array<number>(withPrior.length);
    order.forEach((original, position) => {
      byIndex[original] = sortedSigmas[position] as number;
    });
    sigmas = byIndex.slice(0, n);
  }

  const maxSigma = range;
  const minSigma = options.magicClip ? range / Math.min(100, n + 2) : 1e-12 * Math.max(range, 1);
  const clipped = sigmas.map((s) => Math.min(maxSigma, Math.max(minSigma, s)));
  const mus = Float64Array.from([...column, priorMu]);
  const allSigmas = Float64Array.from([...clipped, range]);
  const logMasses = mus.map((mu, k) => {
    const sigma = allSigmas[k] as number;
    return Math.log(Math.max(MIN_MASS, normalMass((low - mu) / sigma, (high - mu) / sigma)));
  });
  return { kind: 'numeric', mus, sigmas: allSigmas, logMasses };
}

function categoricalKernels(
  nChoices: number,
  column: readonly number[],
  options: ParzenOptions,
): CategoricalKernels {
  const base = options.priorWeight / nChoices;
  const rows = column.map((index) => {
    const row = new Float64Array(nChoices).fill(base);
    row[index] = (row[index] as number) + 1;
    return row;
  });
  rows.push(new Float64Array(nChoices).fill(base));
  return {
    kind: 'categorical',
    logProbs: rows.map((row) => {
      const sum = row.reduce((a, b) => a + b, 0);
      return Float64Array.from(row, (p) => Math.log(p / sum));
    }),
  };
}

const MIN_MASS = 1e-300;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

function normalLogPdf(x: number, mu: number, sigma: number): number {
  const z = (x - mu) / sigma;
  return -0.5 * z * z - LOG_SQRT_2PI - Math.log(sigma);
}

/** log mass of the grid cell around `x`; the truncation's normaliser is subtracted apart. */
function logCellMass(x: number, mu: number, sigma: number, step: number): number {
  const half = step / 2;
  return Math.log(Math.max(MIN_MASS, normalMass((x - half - mu) / sigma, (x + half - mu) / sigma)));
}

function gridPoint(dim: Extract<Dimension, { kind: 'numeric' }>, x: number): number {
  const step = dim.step as number;
  const k = Math.round((x - dim.low) / step);
  const maxK = Math.floor((dim.high - dim.low) / step + 1e-9);
  return dim.low + Math.min(maxK, Math.max(0, k)) * step;
}

function pickIndex(logProbs: Float64Array, u: number): number {
  let running = 0;
  for (let i = 0; i < logProbs.length; i++) {
    running += Math.exp(logProbs[i] as number);
    if (u < running) return i;
  }
  return logProbs.length - 1;
}

function logSumExp(values: Float64Array): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > max) max = v;
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}
