import type { MedianPrunerOptions } from './sampler-options.ts';
import type { Direction } from './trial-history.ts';

/** What the pruner needs to know at one report of a running trial. */
export interface PruneInput {
  direction: Direction;
  options: MedianPrunerOptions;
  /** The step just reported. */
  step: number;
  /** Every intermediate value of the trial so far, by step (the new one included). */
  intermediate: ReadonlyMap<number, number>;
  /** How many trials of the study are complete. */
  completedTrials: number;
  /** The complete trials' intermediate values at `step` (those that reported it). */
  valuesAtStep: readonly number[];
}

/**
 * Optuna's MedianPruner decision (its PercentilePruner at 50): prune when the trial's best
 * intermediate value so far is worse than the median of the complete trials at this step. It
 * never prunes before `nStartupTrials` complete trials, before step `nWarmupSteps`, between
 * interval steps, or with fewer than `nMinTrials` values at the step; a NaN best prunes.
 */
export function shouldPrune(input: PruneInput): boolean {
  const { options, step } = input;
  if (input.completedTrials === 0 || input.completedTrials < options.nStartupTrials) return false;
  if (step < options.nWarmupSteps) return false;
  if (!isFirstInIntervalStep(step, [...input.intermediate.keys()], options)) return false;

  const best = bestIntermediate(input.direction, [...input.intermediate.values()]);
  if (Number.isNaN(best)) return true;

  const finite = input.valuesAtStep.filter((v) => !Number.isNaN(v));
  if (finite.length < options.nMinTrials || finite.length === 0) return false;
  const median = percentile(finite, 50);
  return input.direction === 'maximize' ? best < median : best > median;
}

/**
 * True when no earlier report of the trial already fell in the pruning interval `step` belongs
 * to, so a trial reporting every step is judged once per interval.
 */
function isFirstInIntervalStep(
  step: number,
  steps: readonly number[],
  options: MedianPrunerOptions,
): boolean {
  const nearestLower =
    Math.floor((step - options.nWarmupSteps) / options.intervalSteps) * options.intervalSteps +
    options.nWarmupSteps;
  let secondLast = -1;
  for (const s of steps) if (s > secondLast && s !== step) secondLast = s;
  return secondLast < nearestLower;
}

function bestIntermediate(direction: Direction, values: readonly number[]): number {
  const finite = values.filter((v) => !Number.isNaN(v));
  if (finite.length === 0) return Number.NaN;
  return direction === 'minimize' ? Math.min(...finite) : Math.max(...finite);
}

/** The q-th percentile with linear interpolation between ranks, as numpy's default. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = ((sorted.length - 1) * q) / 100;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const a = sorted[lower] as number;
  const b = sorted[upper] as number;
  return a + (b - a) * (position - lower);
}
