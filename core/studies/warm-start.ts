import { contains, type ParamValues, type SearchSpace } from './search-space.ts';
import type { Direction, FinishedTrial, PriorObservation } from './trial-history.ts';
import { rankComplete } from './trial-history.ts';

/** A finished study of a similar material that a new study may learn from. */
export interface WarmStartSource {
  studyId: string;
  /** How similar its material is to the new study's (cosine, 0-1). */
  similarity: number;
  direction: Direction;
  trials: readonly FinishedTrial[];
}

/** How much a warm start borrows. */
export interface WarmStartOptions {
  /** Best trials of the sources asked first, as fixed trials. */
  enqueueTop: number;
  /** At most this many of each source's best complete trials become priors for TPE. */
  priorsPerSource: number;
  /** The share of each source's priors marked good (at least one). */
  goodFraction: number;
}

export const WARM_START_DEFAULTS: WarmStartOptions = {
  enqueueTop: 3,
  priorsPerSource: 50,
  goodFraction: 0.1,
};

/** What a warm start adds to a study: fixed first trials and weighted prior observations. */
export interface WarmStart {
  enqueue: { params: ParamValues; origin: { studyId: string; number: number; value: number } }[];
  priors: (PriorObservation & { studyId: string; number: number; similarity: number })[];
}

/**
 * Turns similar materials' studies into a warm start for a study over `space`: their best
 * trials, taken round-robin from the most similar source down, become the first trials (as
 * Optuna's enqueue_trial), and their complete trials become priors for TPE, the best
 * `goodFraction` of each as good, weighted by similarity. Trials whose parameters do not fit
 * `space` (other bounds, missing parameters) are left out; extra parameters are dropped.
 */
export function buildWarmStart(
  space: SearchSpace,
  sources: readonly WarmStartSource[],
  options: WarmStartOptions = WARM_START_DEFAULTS,
): WarmStart {
  const ordered = [...sources].sort((a, b) => b.similarity - a.similarity);
  const rankedPerSource = ordered.map((source) =>
    rankComplete(source.direction, source.trials)
      .map((t) => ({ ...t, params: fitToSpace(space, t.params) }))
      .filter((t): t is typeof t & { params: ParamValues } => t.params !== undefined),
  );

  // Fixed first trials: the best of each source in turn, without repeats.
  const enqueue: WarmStart['enqueue'] = [];
  const seen = new Set<string>();
  for (let rank = 0; enqueue.length < options.enqueueTop; rank++) {
    let any = false;
    ordered.forEach((source, i) => {
      const trial = rankedPerSource[i]?.[rank];
      if (!trial || enqueue.length >= options.enqueueTop) return;
      any = true;
      const key = JSON.stringify(trial.params);
      if (seen.has(key)) return;
      seen.add(key);
      enqueue.push({
        params: trial.params,
        origin: { studyId: source.studyId, number: trial.number, value: trial.value },
      });
    });
    if (!any) break;
  }

  const priors: WarmStart['priors'] = [];
  ordered.forEach((source, i) => {
    const ranked = (rankedPerSource[i] ?? []).slice(0, options.priorsPerSource);
    const nGood = Math.max(1, Math.ceil(options.goodFraction * ranked.length));
    const weight = Math.min(1, Math.max(1e-3, source.similarity));
    ranked.forEach((trial, rank) => {
      priors.push({
        params: trial.params,
        good: rank < nGood,
        weight,
        studyId: source.studyId,
        number: trial.number,
        similarity: source.similarity,
      });
    });
  });

  return { enqueue, priors };
}

/** `params` restricted to `space`, or undefined when one of its parameters is missing or out. */
function fitToSpace(space: SearchSpace, params: ParamValues): ParamValues | undefined {
  const fitted: ParamValues = {};
  for (const [name, distribution] of Object.entries(space)) {
    if (!(name in params) || !contains(distribution, params[name])) return undefined;
    fitted[name] = params[name] ?? null;
  }
  return fitted;
}
