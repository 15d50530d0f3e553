import type { LengthUnit } from './specification.ts';

const MM_PER_UNIT: Record<LengthUnit, number> = { mm: 1, cm: 10, m: 1000, in: 25.4, ft: 304.8 };

/** The canonical unit of a unit as written ("mm", "cm", "inch", '"', "ft", "'"), or undefined. */
export function lengthUnitOf(written: string): LengthUnit | undefined {
  const unit = written.trim().toLowerCase();
  if (unit === 'mm' || unit === 'cm' || unit === 'm') return unit;
  if (['in', 'in.', 'inch', 'inches', '"', '″', '”', "''"].includes(unit)) return 'in';
  if (['ft', 'ft.', 'feet', 'foot', "'", '′', '’'].includes(unit)) return 'ft';
  return undefined;
}

/** `value` in `unit` as millimetres, rounded to 0.1 mm. */
export function toMillimetres(value: number, unit: LengthUnit): number {
  return Math.round(value * MM_PER_UNIT[unit] * 10) / 10;
}

/**
 * A number as specifications write it: "9.5", "9,5" (decimal comma), "3/8", "1 1/2" or
 * "1-1/2" (inch fractions). NaN when it is none of these.
 */
export function parseSpecNumber(written: string): number {
  const text = written.trim();
  const mixed = /^(\d+)[\s-]+(\d+)\/(\d+)$/.exec(text);
  if (mixed) return Number(mixed[1]) + Number(mixed[2]) / Number(mixed[3]);
  const fraction = /^(\d+)\/(\d+)$/.exec(text);
  if (fraction) return Number(fraction[1]) / Number(fraction[2]);
  if (/^\d+([.,]\d+)?$/.test(text)) return Number(text.replace(',', '.'));
  return Number.NaN;
}
