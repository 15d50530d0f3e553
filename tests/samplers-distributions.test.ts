import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryStudy } from '../core/studies/in-memory-study.ts';
import {
  normalCdf,
  normalQuantile,
  sampleTruncatedNormal,
} from '../core/studies/normal-distribution.ts';
import { createPrng } from '../core/studies/prng.ts';
import { type SamplerOptions, tpeSamplerSchema } from '../core/studies/sampler-options.ts';
import { contains, type ParamValues, type SearchSpace } from '../core/studies/search-space.ts';

const SPACE: SearchSpace = {
  lr: { type: 'float', low: 1e-5, high: 1, log: true },
  dropout: { type: 'float', low: 0, high: 0.5, step: 0.05 },
  layers: { type: 'int', low: 1, high: 8 },
  width: { type: 'int', low: 16, high: 1024, log: true },
  batch: { type: 'int', low: 8, high: 128, step: 8 },
  optimizer: { type: 'categorical', choices: ['sgd', 'adam', 'rmsprop'] },
  momentum: { type: 'float', low: 0.5, high: 0.99 },
};

const TPE: SamplerOptions = tpeSamplerSchema.parse({ type: 'tpe', nStartupTrials: 5 });
const UNIVARIATE_TPE: SamplerOptions = tpeSamplerSchema.parse({
  type: 'tpe',
  nStartupTrials: 5,
  multivariate: false,
});

/** A noisy-free objective over SPACE that prefers lr near 1e-3, adam and 4 layers. */
function objective(p: ParamValues): number {
  return (
    (Math.log10(p.lr as number) + 3) ** 2 +
    (p.optimizer === 'adam' ? 0 : 1) +
    ((p.layers as number) - 4) ** 2 / 4 +
    (p.dropout as number) +
    Math.abs(Math.log2((p.width as number) / 256)) / 4
  );
}

function run(sampler: SamplerOptions, seed: number, trials: number, space = SPACE) {
  const study = new InMemoryStudy({ space, direction: 'minimize', sampler, seed });
  const asked: ParamValues[] = [];
  for (let i = 0; i < trials; i++) {
    const { number, params } = study.ask();
    asked.push(params);
    study.tell(number, params, objective(params));
  }
  return { study, asked };
}

describe('samplers respect their distributions', () => {
  it.each([
    ['random', { type: 'random' } as SamplerOptions],
    ['tpe (multivariate)', TPE],
    ['tpe (independent)', UNIVARIATE_TPE],
  ])('%s: every value is legal: bounds, grids, whole numbers, choices', (_, sampler) => {
    const { asked } = run(sampler, 7, 80);

    for (const params of asked) {
      expect(Object.keys(params).sort()).toEqual(Object.keys(SPACE).sort());
      for (const [name, d] of Object.entries(SPACE)) {
        expect(contains(d, params[name]), `${name}=${String(params[name])}`).toBe(true);
      }
    }
  });

  it('random: a log-scale float is uniform in its logarithm, not in its value', () => {
    const { asked } = run({ type: 'random' }, 1, 2000);
    const decades = new Array<number>(5).fill(0);
    for (const p of asked) {
      const decade = Math.min(4, Math.floor(Math.log10(p.lr as number) + 5));
      decades[decade] = (decades[decade] as number) + 1;
    }

    // Five decades, 400 draws each expected; uniform in value would put ~90% in the last.
    for (const n of decades) expect(n).toBeGreaterThan(300);
    for (const n of decades) expect(n).toBeLessThan(500);
  });

  it('random: every whole number, grid point and choice is drawn about equally often', () => {
    const { asked } = run({ type: 'random' }, 2, 4000);
    const count = (name: string) => {
      const seen = new Map<unknown, number>();
      for (const p of asked) seen.set(p[name], (seen.get(p[name]) ?? 0) + 1);
      return seen;
    };

    const layers = count('layers');
    expect([...layers.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const n of layers.values()) expect(Math.abs(n - 500)).toBeLessThan(120);
    const dropout = count('dropout');
    expect(dropout.size).toBe(11);
    for (const n of dropout.values()) expect(Math.abs(n - 4000 / 11)).toBeLessThan(110);
    const optimizer = count('optimizer');
    for (const n of optimizer.values()) expect(Math.abs(n - 4000 / 3)).toBeLessThan(160);
  });

  it('random: a log-scale int gives small numbers more draws than large ones', () => {
    const { asked } = run({ type: 'random' }, 3, 3000);
    const below64 = asked.filter((p) => (p.width as number) < 64).length;
    // log-uniform on [15.5, 1024.5]: P(width < 64) = ln(63.5/15.5) / ln(1024.5/15.5) ~ 0.34
    expect(below64 / asked.length).toBeGreaterThan(0.29);
    expect(below64 / asked.length).toBeLessThan(0.39);
  });
});

describe('degenerate spaces', () => {
  it.each([
    ['random', { type: 'random' } as SamplerOptions],
    ['tpe (multivariate)', TPE],
    ['tpe (independent)', UNIVARIATE_TPE],
  ])('%s: one-value ranges and single choices always give that value', (_, sampler) => {
    const space: SearchSpace = {
      a: { type: 'float', low: 1, high: 1 },
      b: { type: 'int', low: 5, high: 5 },
      c: { type: 'float', low: 2, high: 2, log: true },
      d: { type: 'categorical', choices: ['only'] },
      e: { type: 'int', low: 3, high: 3, log: true },
      f: { type: 'float', low: 0, high: 1, step: 0.3 },
    };
    const study = new InMemoryStudy({ space, direction: 'minimize', sampler, seed: 1 });
    for (let i = 0; i < 20; i++) {
      const { number, params } = study.ask();
      expect(params).toMatchObject({ a: 1, b: 5, c: 2, d: 'only', e: 3 });
      expect([0, 0.3, 0.6, 0.9]).toContain(params.f);
      study.tell(number, params, i % 7);
    }
  });
});

describe('samplers are reproducible with a seed', () => {
  it.each([
    ['random', { type: 'random' } as SamplerOptions],
    ['tpe', TPE],
  ])('%s: the same seed gives the same trials; another seed other trials', (_, sampler) => {
    const a = run(sampler, 42, 40).asked;
    const b = run(sampler, 42, 40).asked;
    const c = run(sampler, 43, 40).asked;

    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });
});

describe('TPE against random search', () => {
  it('finds a better value in 40 trials than random search on most of 10 fixed seeds', () => {
    let tpeWins = 0;
    let tpeTotal = 0;
    let randomTotal = 0;
    for (let seed = 0; seed < 10; seed++) {
      const tpe = run(TPE, seed, 40).study.best()[0]?.value as number;
      const random = run({ type: 'random' }, seed, 40).study.best()[0]?.value as number;
      if (tpe < random) tpeWins++;
      tpeTotal += tpe;
      randomTotal += random;
    }

    expect(tpeWins).toBeGreaterThanOrEqual(8);
    expect(tpeTotal).toBeLessThan(randomTotal);
  });

  it('warm-start priors that mark the optimum as good lead TPE there sooner', () => {
    const space: SearchSpace = { x: { type: 'float', low: -10, high: 10 } };
    const f = (p: ParamValues) => ((p.x as number) - 7) ** 2;
    let coldTotal = 0;
    let warmTotal = 0;
    for (let seed = 0; seed < 10; seed++) {
      const cold = new InMemoryStudy({ space, direction: 'minimize', sampler: TPE, seed });
      const warm = new InMemoryStudy({ space, direction: 'minimize', sampler: TPE, seed });
      warm.addPriors([
        { params: { x: 6.8 }, good: true, weight: 0.9 },
        { params: { x: 7.3 }, good: true, weight: 0.9 },
        ...[-8, -4, 0, 3].map((x) => ({ params: { x }, good: false, weight: 0.9 })),
      ]);
      for (const study of [cold, warm]) {
        for (let i = 0; i < 15; i++) {
          const { number, params } = study.ask();
          study.tell(number, params, f(params));
        }
      }
      coldTotal += cold.best()[0]?.value as number;
      warmTotal += warm.best()[0]?.value as number;
    }

    expect(warmTotal).toBeLessThan(coldTotal / 2);
  });
});

describe('constant liar', () => {
  it('spreads the trials that workers ask at the same time', () => {
    const space: SearchSpace = { x: { type: 'float', low: -10, high: 10 } };
    const spread = (constantLiar: boolean) => {
      let total = 0;
      for (let seed = 0; seed < 10; seed++) {
        const sampler = tpeSamplerSchema.parse({ type: 'tpe', constantLiar });
        const study = new InMemoryStudy({ space, direction: 'minimize', sampler, seed });
        for (let i = 0; i < 30; i++) {
          const { number, params } = study.ask();
          study.tell(number, params, ((params.x as number) - 3) ** 2);
        }
        // Eight workers ask before any of them tells.
        const xs = Array.from({ length: 8 }, () => study.ask().params.x as number);
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        total += Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
      }
      return total;
    };

    expect(spread(true)).toBeGreaterThan(spread(false));
  });
});

describe('the normal distribution the Parzen estimators are built on', () => {
  it('normalQuantile inverts normalCdf', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-10, max: 1 - 1e-10, noNaN: true }), (p) => {
        expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 6);
      }),
    );
  });

  it('truncated draws stay inside their bounds, even far in a tail', () => {
    const rng = createPrng(9);
    for (const [mu, sigma, low, high] of [
      [0, 1, -1, 1],
      [0, 1, 6, 7],
      [0, 1, -9, -8],
      [5, 0.001, 0, 1],
    ] as const) {
      for (let i = 0; i < 200; i++) {
        const x = sampleTruncatedNormal(rng.next(), mu, sigma, low, high);
        expect(x).toBeGreaterThanOrEqual(low);
        expect(x).toBeLessThanOrEqual(high);
      }
    }
  });
});
