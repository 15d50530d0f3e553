// `npm run bench:hpo -- [--json] [--seeds N]`: Kai's TPE against random search (Optuna's
// baseline) on Branin and Hartmann6, in memory through the same sampler code the Postgres
// studies use (core/studies/choose-params.ts).
//
// trialsToMatchRandom200: for each seed i, random search with seed i runs 200 trials and its
// best value is the target; TPE with seed i counts the trials until it is at least as good
// (capped at MAX_TRIALS; a seed that never gets there counts MAX_TRIALS + 1). The figure is the
// median over the seeds. Lower is better; 200 would mean no better than random.
//
// warmStartGain: a family of Branin functions shifted by random offsets. For each seed, three
// source studies (cold TPE, 100 trials each) run on shifts near the target's; then a cold and
// a warm-started TPE study (buildWarmStart: the sources' best three trials first, their trials
// as weighted priors, similarity 0.9) run on the target shift until they reach
// optimum + WARM_TARGET_GAP. warmStartGain = median(cold trials) / median(warm trials): how many
// times fewer trials the warm start needs. Above 1 means the warm start helps.
//
// Optuna itself is not run here (it is not installed, and only the npm registry is reachable);
// random search is the baseline both Optuna and Kai are measured against.
//
// Progress goes to stderr; with --json the last stdout line is the one result object.
import { parseArgs } from 'node:util';
import { InMemoryStudy } from '../../core/studies/in-memory-study.ts';
import { type SamplerOptions, tpeSamplerSchema } from '../../core/studies/sampler-options.ts';
import { buildWarmStart } from '../../core/studies/warm-start.ts';
import { progress, ratio, round } from './bench-output.ts';
import { branin, hartmann6, type TestFunction } from './hpo-functions.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seeds: { type: 'string', default: '20' },
  },
});

const SEEDS = Number(values.seeds);
const RANDOM_TRIALS = 200;
const MAX_TRIALS = 300;
const WARM_TARGET_GAP = 0.1;
const TPE: SamplerOptions = tpeSamplerSchema.parse({ type: 'tpe' });
const RANDOM: SamplerOptions = { type: 'random' };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs `study` on `fn` until its best is at most `target`; the trials it took, or cap + 1. */
function trialsToReach(
  study: InMemoryStudy,
  fn: TestFunction,
  target: number,
  cap: number,
): number {
  for (let n = 1; n <= cap; n++) {
    const { number, params } = study.ask();
    const value = fn.evaluate(params);
    study.tell(number, params, value);
    if (value <= target) return n;
  }
  return cap + 1;
}

function bestOf(study: InMemoryStudy, fn: TestFunction, trials: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let n = 0; n < trials; n++) {
    const { number, params } = study.ask();
    const value = fn.evaluate(params);
    study.tell(number, params, value);
    best = Math.min(best, value);
  }
  return best;
}

function matchRandom(fn: TestFunction): number {
  const counts: number[] = [];
  for (let seed = 0; seed < SEEDS; seed++) {
    const random = new InMemoryStudy({
      space: fn.space,
      direction: 'minimize',
      sampler: RANDOM,
      seed,
    });
    const target = bestOf(random, fn, RANDOM_TRIALS);
    const tpe = new InMemoryStudy({ space: fn.space, direction: 'minimize', sampler: TPE, seed });
    counts.push(trialsToReach(tpe, fn, target, MAX_TRIALS));
  }
  progress(`${fn.name}: TPE trials to match random-200, per seed: ${counts.join(' ')}`);
  const m = median(counts);
  progress(`${fn.name}: median ${m} trials, ${ratio(RANDOM_TRIALS, m)} fewer than random search`);
  return m;
}

function warmStartGain(): { gain: number; cold: number; warm: number } {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let seed = 0; seed < SEEDS; seed++) {
    // A seeded stream of shifts, so the family is the same on every run.
    const shiftRng = new InMemoryStudy({
      space: { dx: { type: 'float', low: -1, high: 1 }, dy: { type: 'float', low: -1, high: 1 } },
      direction: 'minimize',
      sampler: RANDOM,
      seed: 1_000_000 + seed,
    });
    const draw = () => {
      const { params } = shiftRng.ask();
      return [params.dx as number, params.dy as number] as const;
    };
    const [tx, ty] = draw();
    const target = branin([tx, ty]);

    const sources = [0, 1, 2].map((s) => {
      const [ox, oy] = draw();
      const fn = branin([tx + ox / 2, ty + oy / 2]);
      const study = new InMemoryStudy({
        space: fn.space,
        direction: 'minimize',
        sampler: TPE,
        seed: 10_000 + seed * 10 + s,
      });
      bestOf(study, fn, 100);
      return {
        studyId: `source-${s}`,
        similarity: 0.9,
        direction: 'minimize' as const,
        trials: study.history(),
      };
    });

    const goal = target.optimum + WARM_TARGET_GAP;
    const coldStudy = new InMemoryStudy({
      space: target.space,
      direction: 'minimize',
      sampler: TPE,
      seed,
    });
    cold.push(trialsToReach(coldStudy, target, goal, MAX_TRIALS));

    const warmStudy = new InMemoryStudy({
      space: target.space,
      direction: 'minimize',
      sampler: TPE,
      seed,
    });
    const start = buildWarmStart(target.space, sources);
    for (const e of start.enqueue) warmStudy.enqueue(e.params);
    warmStudy.addPriors(start.priors);
    warm.push(trialsToReach(warmStudy, target, goal, MAX_TRIALS));
  }
  progress(`warm start: cold trials per seed ${cold.join(' ')}`);
  progress(`warm start: warm trials per seed ${warm.join(' ')}`);
  return { gain: median(cold) / median(warm), cold: median(cold), warm: median(warm) };
}

const startedMs = performance.now();
const functions = [branin(), hartmann6()].map((fn) => ({
  name: fn.name,
  trialsToMatchRandom200: matchRandom(fn),
}));
const warmStart = warmStartGain();
progress(
  `warm start on shifted Branin: cold median ${warmStart.cold} trials, warm median ` +
    `${warmStart.warm} trials (${round(warmStart.gain)}x); ${SEEDS} seeds in ` +
    `${((performance.now() - startedMs) / 1000).toFixed(1)}s`,
);

const result = { bench: 'hpo', functions, warmStartGain: round(warmStart.gain) };
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else
  for (const f of functions)
    process.stdout.write(`${f.name}: ${f.trialsToMatchRandom200} TPE trials match random-200\n`);
