import { describe, expect, it } from 'vitest';
import { percentile, shouldPrune } from '../core/studies/median-pruner.ts';
import { medianPrunerSchema } from '../core/studies/sampler-options.ts';

const defaults = medianPrunerSchema.parse({ type: 'median' });

function decide(overrides: Partial<Parameters<typeof shouldPrune>[0]> = {}) {
  return shouldPrune({
    direction: 'minimize',
    options: defaults,
    step: 3,
    intermediate: new Map([
      [0, 5],
      [1, 4],
      [2, 3.5],
      [3, 3.2],
    ]),
    completedTrials: 6,
    valuesAtStep: [1, 2, 3, 4, 5, 6],
    ...overrides,
  });
}

describe('median pruner (Optuna semantics)', () => {
  it('prunes a minimizing trial whose best value so far is above the median at the step', () => {
    // median of 1..6 is 3.5 (linear interpolation); best so far 3.2 is below: keep.
    expect(decide()).toBe(false);
    expect(decide({ valuesAtStep: [1, 2, 2.5, 3, 3.1, 9] })).toBe(true);
  });

  it('mirrors the comparison when maximizing', () => {
    const intermediate = new Map([
      [0, 0.2],
      [3, 0.4],
    ]);
    expect(decide({ direction: 'maximize', intermediate, valuesAtStep: [0.5, 0.6, 0.7] })).toBe(
      true,
    );
    expect(decide({ direction: 'maximize', intermediate, valuesAtStep: [0.1, 0.3, 0.9] })).toBe(
      false,
    );
  });

  it('uses the best intermediate value over all steps, not the latest', () => {
    const intermediate = new Map([
      [0, 1],
      [3, 10],
    ]);
    expect(decide({ intermediate, valuesAtStep: [2, 3, 4] })).toBe(false);
  });

  it('never prunes before n_startup_trials complete trials', () => {
    const bad = { valuesAtStep: [0, 0, 0], intermediate: new Map([[3, 99]]) };
    expect(decide({ ...bad, completedTrials: 4 })).toBe(false);
    expect(decide({ ...bad, completedTrials: 5 })).toBe(true);
    expect(
      decide({ ...bad, completedTrials: 0, options: { ...defaults, nStartupTrials: 0 } }),
    ).toBe(false);
  });

  it('never prunes before n_warmup_steps', () => {
    const options = { ...defaults, nWarmupSteps: 5 };
    const bad = { valuesAtStep: [0, 0, 0], options };
    expect(decide({ ...bad, step: 4, intermediate: new Map([[4, 99]]) })).toBe(false);
    expect(decide({ ...bad, step: 5, intermediate: new Map([[5, 99]]) })).toBe(true);
  });

  it('judges once per interval: a second report in the same interval is not judged', () => {
    const options = { ...defaults, intervalSteps: 10 };
    const bad = { valuesAtStep: [0, 0, 0], options };
    // Step 10 is the first report in [10, 20): judged.
    expect(decide({ ...bad, step: 10, intermediate: new Map([[10, 99]]) })).toBe(true);
    // Step 13 after a report at 10: the same interval, not judged.
    expect(
      decide({
        ...bad,
        step: 13,
        intermediate: new Map([
          [10, 99],
          [13, 99],
        ]),
      }),
    ).toBe(false);
    // Step 20 opens the next interval.
    expect(
      decide({
        ...bad,
        step: 20,
        intermediate: new Map([
          [10, 99],
          [20, 99],
        ]),
      }),
    ).toBe(true);
  });

  it('does not prune with fewer than n_min_trials values at the step; NaN prunes', () => {
    expect(decide({ valuesAtStep: [], intermediate: new Map([[3, 99]]) })).toBe(false);
    expect(
      decide({
        options: { ...defaults, nMinTrials: 3 },
        valuesAtStep: [0, 0],
        intermediate: new Map([[3, 99]]),
      }),
    ).toBe(false);
    expect(decide({ intermediate: new Map([[3, Number.NaN]]) })).toBe(true);
  });

  it('percentile interpolates linearly, as numpy does', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([5], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5], 25)).toBe(2);
  });
});
