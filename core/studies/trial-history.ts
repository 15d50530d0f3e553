import type { ParamValues } from './search-space.ts';

/** Whether a study looks for the lowest or the highest value. */
export type Direction = 'minimize' | 'maximize';

/** A finished trial of the study itself, as the samplers learn from it. */
export interface FinishedTrial {
  number: number;
  params: ParamValues;
  state: 'complete' | 'pruned';
  /** The objective of a complete trial; the last intermediate value (or null) of a pruned one. */
  value: number | null;
}

/**
 * An observation borrowed from a similar material's study for a warm start: whether it was
 * among that study's good trials, and how much it counts (0-1, usually its similarity).
 */
export interface PriorObservation {
  params: ParamValues;
  good: boolean;
  weight: number;
}

/** What a sampler is told when it chooses a trial's parameters. */
export interface TrialHistory {
  direction: Direction;
  trials: readonly FinishedTrial[];
  priors: readonly PriorObservation[];
  /** Parameters of trials being run now, for TPE's constant liar; none when not given. */
  running?: readonly ParamValues[] | undefined;
}

/** True when `a` is a better objective value than `b` in `direction`. */
export function isBetter(direction: Direction, a: number, b: number): boolean {
  return direction === 'minimize' ? a < b : a > b;
}

/** `trials`' complete ones, best first (ties: lower number first). */
export function rankComplete(
  direction: Direction,
  trials: readonly FinishedTrial[],
): (FinishedTrial & { value: number })[] {
  const complete = trials.filter(
    (t): t is FinishedTrial & { value: number } =>
      t.state === 'complete' && t.value !== null && Number.isFinite(t.value),
  );
  const sign = direction === 'minimize' ? 1 : -1;
  return complete.sort((a, b) => sign * (a.value - b.value) || a.number - b.number);
}
