import { z } from 'zod';

/** One categorical choice: what JSON can hold as a scalar. */
export type Choice = string | number | boolean | null;

/**
 * A uniform (or, with `log`, log-uniform) float in `[low, high]`; with `step`, only
 * `low + k * step` values.
 */
export interface FloatDistribution {
  type: 'float';
  low: number;
  high: number;
  log?: boolean | undefined;
  step?: number | undefined;
}

/** A whole number in `[low, high]` on a grid of `step` (default 1); `log` needs `low >= 1`. */
export interface IntDistribution {
  type: 'int';
  low: number;
  high: number;
  log?: boolean | undefined;
  step?: number | undefined;
}

/** One of `choices`, unordered. */
export interface CategoricalDistribution {
  type: 'categorical';
  choices: Choice[];
}

export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;

/** Parameter name to its distribution. */
export type SearchSpace = Record<string, Distribution>;

/** Parameter values as a trial or a parameter set holds them. */
export type ParamValues = Record<string, Choice>;

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;

const choiceSchema = z.union([z.string().max(200), z.number().finite(), z.boolean(), z.null()]);

const floatSchema = z
  .strictObject({
    type: z.literal('float'),
    low: z.number().finite(),
    high: z.number().finite(),
    log: z.boolean().optional(),
    step: z.number().finite().positive().optional(),
  })
  .refine((d) => d.low <= d.high, { error: 'low must not exceed high', path: ['low'] })
  .refine((d) => !d.log || d.low > 0, { error: 'a log scale needs low > 0', path: ['low'] })
  .refine((d) => !(d.log && d.step !== undefined), {
    error: 'a log-scale float cannot have a step',
    path: ['step'],
  });

const intSchema = z
  .strictObject({
    type: z.literal('int'),
    low: z.number().int().min(-1e12).max(1e12),
    high: z.number().int().min(-1e12).max(1e12),
    log: z.boolean().optional(),
    step: z.number().int().positive().optional(),
  })
  .refine((d) => d.low <= d.high, { error: 'low must not exceed high', path: ['low'] })
  .refine((d) => !d.log || d.low >= 1, { error: 'a log scale needs low >= 1', path: ['low'] })
  .refine((d) => !(d.log && d.step !== undefined && d.step !== 1), {
    error: 'a log-scale int cannot have a step other than 1',
    path: ['step'],
  });

const categoricalSchema = z
  .strictObject({
    type: z.literal('categorical'),
    choices: z.array(choiceSchema).min(1).max(1000),
  })
  .refine((d) => new Set(d.choices.map((c) => JSON.stringify(c))).size === d.choices.length, {
    error: 'choices must be distinct',
    path: ['choices'],
  });

/** Checks one distribution as an API caller or a migration writes it. */
export const distributionSchema: z.ZodType<Distribution> = z.union([
  floatSchema,
  intSchema,
  categoricalSchema,
]) as z.ZodType<Distribution>;

/** Checks a whole search space: 1 to 100 parameters with sensible names. */
export const searchSpaceSchema: z.ZodType<SearchSpace> = z
  .record(
    z.string().regex(PARAM_NAME, 'a parameter name: letters, digits, _ . -'),
    distributionSchema,
  )
  .refine((space) => Object.keys(space).length >= 1, { error: 'a space needs a parameter' })
  .refine((space) => Object.keys(space).length <= 100, {
    error: 'a space holds at most 100 parameters',
  });

/** The parameter names of `space` in a fixed order (sorted), so sampling is reproducible. */
export function parameterNames(space: SearchSpace): string[] {
  return Object.keys(space).sort();
}

/** True when `value` is a legal value of `distribution` (on its grid for a step). */
export function contains(distribution: Distribution, value: unknown): boolean {
  if (distribution.type === 'categorical') {
    return distribution.choices.some((c) => c === value);
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (value < distribution.low || value > distribution.high) return false;
  if (distribution.type === 'int' && !Number.isInteger(value)) return false;
  const step = distribution.step;
  if (step === undefined) return true;
  const k = (value - distribution.low) / step;
  return Math.abs(k - Math.round(k)) < 1e-8;
}

/** The zod schema of a full set of values for `space`: every parameter, nothing else. */
export function paramsSchemaOf(space: SearchSpace): z.ZodType<ParamValues> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, d] of Object.entries(space)) shape[name] = valueSchemaOf(d);
  return z.strictObject(shape) as unknown as z.ZodType<ParamValues>;
}

/** The zod schema of one parameter's value. */
export function valueSchemaOf(d: Distribution): z.ZodType<Choice> {
  if (d.type === 'categorical') {
    const listed = d.choices.map((c) => JSON.stringify(c)).join(', ');
    return choiceSchema.refine((v) => contains(d, v), { error: `expects one of ${listed}` });
  }
  const grid = d.step === undefined ? '' : ` on steps of ${d.step} from ${d.low}`;
  const kind = d.type === 'int' ? 'a whole number' : 'a number';
  return z
    .number({ error: `expects ${kind}` })
    .refine((v) => contains(d, v), { error: `expects ${kind} from ${d.low} to ${d.high}${grid}` });
}

/** Snaps a number into `d`: clamped to its bounds, rounded to its grid or to a whole number. */
export function snap(d: FloatDistribution | IntDistribution, value: number): number {
  let v = Math.min(d.high, Math.max(d.low, value));
  const step = d.step ?? (d.type === 'int' ? 1 : undefined);
  if (step !== undefined) {
    v = d.low + Math.round((v - d.low) / step) * step;
    if (v > d.high) v -= step;
    // Keep the grid's decimals clean: 0.1 * 3 should read 0.3.
    if (d.type === 'float') v = Number(v.toPrecision(12));
  }
  return v;
}
