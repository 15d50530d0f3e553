import type { Choice, Distribution, ParamValues, SearchSpace } from './search-space.ts';
import { contains, parameterNames, snap } from './search-space.ts';

/**
 * A numeric parameter as the samplers see it: a line from `low` to `high` (natural log of the
 * value for a log scale), continuous or on a grid of `step`.
 */
export interface NumericDimension {
  kind: 'numeric';
  name: string;
  low: number;
  high: number;
  /** The grid spacing in the internal space; undefined for a continuous line. */
  step: number | undefined;
  toInternal(value: Choice): number | undefined;
  toExternal(internal: number): number;
}

/** A categorical parameter as the samplers see it: an index into its choices. */
export interface CategoricalDimension {
  kind: 'categorical';
  name: string;
  choices: Choice[];
  toInternal(value: Choice): number | undefined;
  toExternal(internal: number): Choice;
}

export type Dimension = NumericDimension | CategoricalDimension;

/** The dimensions of `space` in the fixed order of `parameterNames`. */
export function dimensionsOf(space: SearchSpace): Dimension[] {
  return parameterNames(space).map((name) => dimensionOf(name, space[name] as Distribution));
}

function dimensionOf(name: string, d: Distribution): Dimension {
  if (d.type === 'categorical') {
    return {
      kind: 'categorical',
      name,
      choices: d.choices,
      toInternal: (value) => {
        const index = d.choices.indexOf(value);
        return index < 0 ? undefined : index;
      },
      toExternal: (internal) => d.choices[internal] as Choice,
    };
  }

  const inside = (value: Choice) => (contains(d, value) ? (value as number) : undefined);

  if (d.log) {
    // A log-scale int covers [low - 0.5, high + 0.5] so that each whole number gets its share.
    const pad = d.type === 'int' ? 0.5 : 0;
    return {
      kind: 'numeric',
      name,
      low: Math.log(d.low - pad),
      high: Math.log(d.high + pad),
      step: undefined,
      toInternal: (value) => {
        const v = inside(value);
        return v === undefined ? undefined : Math.log(v);
      },
      toExternal: (internal) => snap(d, Math.exp(internal)),
    };
  }

  return {
    kind: 'numeric',
    name,
    low: d.low,
    high: d.high,
    step: d.step ?? (d.type === 'int' ? 1 : undefined),
    toInternal: inside,
    toExternal: (internal) => snap(d, internal),
  };
}

/** Internal values of `params` on `dims`, or undefined where a value is missing or illegal. */
export function internalValues(
  dims: readonly Dimension[],
  params: ParamValues,
): (number | undefined)[] {
  return dims.map((dim) =>
    dim.name in params ? dim.toInternal(params[dim.name] ?? null) : undefined,
  );
}
