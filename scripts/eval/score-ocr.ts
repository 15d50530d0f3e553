import type { Specification } from '../../core/spec/specification.ts';
import type { ExpectedSpec } from './spec-sheet-truth.ts';

/** Levenshtein distance between two strings, by code point, in O(min) memory. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1));
    }
    previous = current;
  }
  return previous[y.length] ?? 0;
}

/** Text as the character accuracy compares it: runs of spaces as one, rows by newlines. */
export function normaliseRows(rows: readonly string[]): string {
  return rows
    .map((row) => row.replace(/\s+/g, ' ').trim())
    .filter((row) => row !== '')
    .join('\n');
}

/** Character errors and reference length of one page, to sum over a set before dividing. */
export function characterErrors(
  expectedRows: readonly string[],
  readText: string,
): { errors: number; characters: number } {
  const expected = normaliseRows(expectedRows);
  const read = normaliseRows(readText.split('\n'));
  return { errors: editDistance(expected, read), characters: [...expected].length };
}

/** Field-level counts of one sheet: right values, values read but wrong or extra, missed. */
export interface FieldCounts {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

const near = (a: number, b: number, tolerance: number) => Math.abs(a - b) <= tolerance;

/**
 * Compares a read specification with the truth field by field: each single field is one item
 * (a wrong value counts as one false positive and one false negative), each cited standard
 * one item. Numbers match within rounding (0.5 mm, 0.005 DCOF, 0.01 %).
 */
export function countFields(read: Specification, truth: ExpectedSpec): FieldCounts {
  const counts: FieldCounts = { truePositives: 0, falsePositives: 0, falseNegatives: 0 };
  const item = (hasRead: boolean, hasTruth: boolean, equal: boolean) => {
    if (hasRead && hasTruth && equal) counts.truePositives++;
    else {
      if (hasRead) counts.falsePositives++;
      if (hasTruth) counts.falseNegatives++;
    }
  };
  const compare = <T>(
    readValue: T | undefined,
    truthValue: T | undefined,
    eq: (a: T, b: T) => boolean,
  ) =>
    item(
      readValue !== undefined,
      truthValue !== undefined,
      readValue !== undefined && truthValue !== undefined && eq(readValue, truthValue),
    );

  const same = <T>(a: T, b: T) => a === b;
  compare(read.material?.value, truth.material, same);
  compare(
    read.dimensions?.value,
    truth.dimensions,
    (a, b) => near(a.widthMm, b.widthMm, 0.5) && near(a.lengthMm, b.lengthMm, 0.5),
  );
  compare(read.thickness?.value, truth.thickness, (a, b) => near(a.mm, b.mm, 0.5));
  compare(read.finish?.value, truth.finish, same);
  compare(read.peiClass?.value, truth.peiClass, same);
  compare(read.slipRating?.value, truth.slipRating, same);
  compare(read.dcof?.value, truth.dcof, (a, b) => near(a, b, 0.005));
  compare(
    read.waterAbsorption?.value,
    truth.waterAbsorption,
    (a, b) => near(a.percent, b.percent, 0.01) && a.comparator === b.comparator,
  );
  compare(read.frostResistance?.value, truth.frostResistance, same);
  compare(read.colour?.value, truth.colour, same);

  const readStandards = new Set(read.standards.map((s) => s.value));
  for (const standard of truth.standards) item(readStandards.has(standard), true, true);
  for (const standard of readStandards)
    if (!truth.standards.includes(standard)) item(true, false, false);
  return counts;
}

/** F1 over summed counts; 1 when there was nothing to find and nothing was found. */
export function f1Of(counts: FieldCounts): number {
  const { truePositives: tp, falsePositives: fp, falseNegatives: fn } = counts;
  return tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
}
