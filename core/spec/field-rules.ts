import { lengthUnitOf, parseSpecNumber, toMillimetres } from './length-units.ts';
import type { Comparator, Length, LengthUnit, Specification } from './specification.ts';
import { COLOURS, FINISHES, firstTermIn, MATERIALS } from './vocabulary.ts';

/** What one rule read from one line: a value and how specific the rule was (0-1). */
export interface RuleMatch<Value> {
  value: Value;
  certainty: number;
}

type FieldValue<K extends keyof Specification> =
  NonNullable<Specification[K]> extends { value: infer V } ? V : never;

/** A rule per single-valued field: what it reads from one line, if anything. */
export type FieldRules = {
  [K in Exclude<keyof Specification, 'standards'>]: (
    line: string,
  ) => RuleMatch<FieldValue<K>> | undefined;
};

const NUMBER = String.raw`\d+(?:[.,]\d+)?`;
const UNIT = String.raw`mm|cm|m|inches|inch|in\.?|ft\.?|feet|"|″|”|'|′`;
const TIMES = String.raw`\s*[x×X*]\s*`;
const ROMAN: Record<string, number> = { '0': 0, I: 1, II: 2, III: 3, IV: 4, V: 5 };

const DIMENSIONS = new RegExp(
  String.raw`(${NUMBER})\s*(${UNIT})?${TIMES}(${NUMBER})\s*(${UNIT})?(?:${TIMES}(${NUMBER})\s*(${UNIT})?)?`,
  'i',
);

/** The rules, one per field; each reads a line whose OCR slips were already repaired. */
export const FIELD_RULES: FieldRules = {
  material(line) {
    const lower = line.toLowerCase();
    const labelled = /\b(material|body|type|product)\b\s*[:\-–]/.test(lower);
    const term = firstTermIn(lower, MATERIALS);
    return term ? { value: term.name, certainty: labelled ? 0.95 : 0.7 } : undefined;
  },

  dimensions(line) {
    const match = DIMENSIONS.exec(line);
    if (!match) return undefined;
    const unitText = match[6] ?? match[4] ?? match[2];
    const labelled = /\b(size|format|dimensions?|nominal)\b/i.test(line);
    const width = parseSpecNumber(match[1] ?? '');
    const length = parseSpecNumber(match[3] ?? '');
    if (!(width > 0 && length > 0)) return undefined;

    // Without a unit only a labelled size of three-digit numbers is read, as millimetres:
    // "30 x 60" may be centimetres and "12 x 24" inches, so those are not guessed.
    const unitless = labelled && Math.min(width, length) >= 100 ? 'mm' : undefined;
    const unit = unitText === undefined ? unitless : lengthUnitOf(unitText);
    if (unit === undefined) return undefined;
    const certainty = unitText === undefined ? 0.5 : labelled ? 0.95 : 0.8;
    return {
      value: { widthMm: toMillimetres(width, unit), lengthMm: toMillimetres(length, unit), unit },
      certainty,
    };
  },

  thickness(line) {
    const labelled = new RegExp(
      String.raw`thick(?:ness)?\b[^0-9]{0,12}((?:\d+[\s-]+)?\d+/\d+|${NUMBER})\s*(${UNIT})`,
      'i',
    ).exec(line);
    const trailing = new RegExp(
      String.raw`((?:\d+[\s-]+)?\d+/\d+|${NUMBER})\s*(${UNIT})\s*thick`,
      'i',
    ).exec(line);
    const match = labelled ?? trailing;
    if (match) {
      const length = lengthOf(match[1] ?? '', match[2] ?? '');
      return length ? { value: length, certainty: 0.95 } : undefined;
    }

    // The third number of "600 x 600 x 10 mm".
    const dimensions = DIMENSIONS.exec(line);
    if (dimensions?.[5] !== undefined) {
      const unit = dimensions[6] ?? dimensions[4] ?? dimensions[2];
      const length = unit === undefined ? undefined : lengthOf(dimensions[5], unit);
      return length ? { value: length, certainty: 0.75 } : undefined;
    }
    return undefined;
  },

  finish(line) {
    const lower = line.toLowerCase();
    const label = /\b(finish|surface)\b\s*[:\-–]?\s*(.*)$/.exec(lower);
    if (label) {
      const term = firstTermIn(label[2] ?? '', FINISHES);
      if (term) return { value: term.name, certainty: 0.95 };
    }
    const term = firstTermIn(lower, FINISHES);
    if (!term || (term.name === 'natural' && !/\bfinish\b/.test(lower))) return undefined;
    return { value: term.name, certainty: 0.6 };
  },

  peiClass(line) {
    const match =
      /\bPEI(?:\s*(?:class|rating|grade|group|:|-|–))*\s*(0|[1-5]|IV|V|I{1,3})\b/i.exec(line) ??
      /\b(?:class|grade|group)\s+(0|[1-5]|IV|V|I{1,3})\b[^.]{0,12}\bPEI\b/i.exec(line);
    if (!match) return undefined;
    const written = (match[1] ?? '').toUpperCase();
    const value = ROMAN[written] ?? Number(written);
    return Number.isInteger(value) && value >= 0 && value <= 5
      ? { value, certainty: 0.95 }
      : undefined;
  },

  slipRating(line) {
    const match = /(?<![A-Za-z0-9])R\s?(9|1[0-3])(?![0-9]|[.,]\d)/.exec(line);
    if (!match) return undefined;
    const context = /slip|DIN\s*51130|ramp|anti/i.test(line);
    return { value: `R${match[1]}`, certainty: context ? 0.95 : 0.7 };
  },

  dcof(line) {
    const at = line.search(/\bDCOF\b/i);
    if (at < 0) return undefined;
    const match = /(?<![\w.])([01][.,]\d{1,3})(?!\d)/.exec(line.slice(at));
    if (!match) return undefined;
    return { value: Number((match[1] ?? '').replace(',', '.')), certainty: 0.95 };
  },

  waterAbsorption(line) {
    const labelled = /absorp|\bE\s*[bv]?\s*[≤<=]/i.test(line);
    if (!labelled) return undefined;
    const match = new RegExp(
      String.raw`(≤|<=|=<|<|≥|>=|=>|>|=|max\.?|maximum|less than|below|under|approx\.?|~)?\s*(${NUMBER})\s*%`,
      'i',
    ).exec(line);
    if (!match) return undefined;
    return {
      value: {
        percent: Number((match[2] ?? '').replace(',', '.')),
        comparator: comparatorOf(match[1]),
      },
      certainty: 0.95,
    };
  },

  frostResistance(line) {
    const lower = line.toLowerCase();
    if (!/frost/.test(lower)) return undefined;
    const negative = /\b(not|non|no|fails?|failed)\b|non-frost|not frost/.test(lower);
    return { value: !negative, certainty: 0.9 };
  },

  colour(line) {
    const label =
      /\b(colou?r(?:\s*name)?|shade)\b\s*[:\-–]\s*([^;,.(]+)/i.exec(line) ??
      /^\s*(colou?r(?:\s*name)?|shade)\s+([^;,.(:]+)/i.exec(line);
    if (label) {
      const value = normaliseColour(label[2] ?? '');
      if (value !== '') return { value, certainty: 0.95 };
    }
    const lower = line.toLowerCase();
    const word = COLOURS.find((colour) => new RegExp(`\\b${colour}\\b`).test(lower));
    if (!word || /\b(material|finish|surface)\b/.test(lower)) return undefined;
    return { value: normaliseColour(word), certainty: 0.4 };
  },
};

function lengthOf(numberText: string, unitText: string): Length | undefined {
  const unit: LengthUnit | undefined = lengthUnitOf(unitText);
  const value = parseSpecNumber(numberText);
  if (unit === undefined || !(value > 0)) return undefined;
  return { mm: toMillimetres(value, unit), unit };
}

function comparatorOf(written: string | undefined): Comparator {
  const text = (written ?? '').toLowerCase().replace(/\.$/, '');
  if (['≤', '<=', '=<', 'max', 'maximum'].includes(text)) return '<=';
  if (['<', 'less than', 'below', 'under'].includes(text)) return '<';
  if (['≥', '>=', '=>'].includes(text)) return '>=';
  if (text === '>') return '>';
  return '=';
}

/** A colour name as Kai compares it: lower case, single spaces, "gray" as "grey". */
export function normaliseColour(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/\bgray\b/g, 'grey');
}
