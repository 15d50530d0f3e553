import type { ParamValues, SearchSpace } from '../../core/studies/search-space.ts';

/** A benchmark objective to minimise, with its space and known optimum. */
export interface TestFunction {
  name: string;
  space: SearchSpace;
  optimum: number;
  evaluate(params: ParamValues): number;
}

const num = (params: ParamValues, name: string) => params[name] as number;

/** Branin-Hoo on [-5, 10] x [0, 15]; three global minima of 0.397887. */
export function branin(shift: readonly [number, number] = [0, 0]): TestFunction {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return {
    name: 'branin',
    space: {
      x1: { type: 'float', low: -5, high: 10 },
      x2: { type: 'float', low: 0, high: 15 },
    },
    optimum: 0.397887,
    evaluate(params) {
      const x1 = num(params, 'x1') - shift[0];
      const x2 = num(params, 'x2') - shift[1];
      return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
    },
  };
}

const ALPHA = [1.0, 1.2, 3.0, 3.2];
const A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((row) => row.map((v) => v * 1e-4));

/** Hartmann6 on [0, 1]^6; global minimum -3.32237. */
export function hartmann6(): TestFunction {
  const names = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
  return {
    name: 'hartmann6',
    space: Object.fromEntries(names.map((n) => [n, { type: 'float', low: 0, high: 1 }])),
    optimum: -3.32237,
    evaluate(params) {
      let sum = 0;
      for (let i = 0; i < 4; i++) {
        let inner = 0;
        for (let j = 0; j < 6; j++) {
          const a = (A[i] as number[])[j] as number;
          const p = (P[i] as number[])[j] as number;
          inner += a * (num(params, names[j] as string) - p) ** 2;
        }
        sum += (ALPHA[i] as number) * Math.exp(-inner);
      }
      return -sum;
    },
  };
}
