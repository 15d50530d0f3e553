import { chooseParams } from './choose-params.ts';
import type { SamplerOptions } from './sampler-options.ts';
import type { ParamValues, SearchSpace } from './search-space.ts';
import {
  type Direction,
  type FinishedTrial,
  type PriorObservation,
  rankComplete,
} from './trial-history.ts';

/**
 * A study held in memory, one worker at a time: the same sampler code as the Postgres studies
 * (`chooseParams`), without storage. The benchmarks and the sampler tests drive it.
 */
export class InMemoryStudy {
  readonly space: SearchSpace;
  readonly direction: Direction;
  readonly sampler: SamplerOptions;
  readonly seed: number;
  private readonly trials: FinishedTrial[] = [];
  private readonly waiting: ParamValues[] = [];
  private readonly priors: PriorObservation[] = [];
  private readonly running = new Map<number, ParamValues>();
  private nextNumber = 0;

  constructor(init: {
    space: SearchSpace;
    direction: Direction;
    sampler: SamplerOptions;
    seed: number;
  }) {
    this.space = init.space;
    this.direction = init.direction;
    this.sampler = init.sampler;
    this.seed = init.seed;
  }

  /** Queues fixed parameters to be asked before the sampler is (Optuna's enqueue_trial). */
  enqueue(params: ParamValues): void {
    this.waiting.push(params);
  }

  /** Adds observations borrowed from other studies (see warm-start.ts). */
  addPriors(priors: readonly PriorObservation[]): void {
    this.priors.push(...priors);
  }

  /** The next trial: its number and parameters. */
  ask(): { number: number; params: ParamValues } {
    const number = this.nextNumber++;
    const queued = this.waiting.shift();
    const params =
      queued ??
      chooseParams(this.space, this.sampler, this.seed, number, {
        direction: this.direction,
        trials: this.trials,
        priors: this.priors,
        running: [...this.running.values()],
      });
    this.running.set(number, params);
    return { number, params };
  }

  /** Records the objective of trial `number`. */
  tell(number: number, params: ParamValues, value: number): void {
    this.running.delete(number);
    this.trials.push({ number, params, state: 'complete', value });
  }

  /** The complete trials, best first. */
  best(count = 1): (FinishedTrial & { value: number })[] {
    return rankComplete(this.direction, this.trials).slice(0, count);
  }

  /** Every finished trial in the order told. */
  history(): readonly FinishedTrial[] {
    return this.trials;
  }
}
