import { mulberry32 } from '../../core/random/mulberry32.ts';
import type { Comparator, LengthUnit } from '../../core/spec/specification.ts';

/** The fields a rendered sheet states, as `parseSpecification` should read them. */
export interface ExpectedSpec {
  material?: string;
  dimensions?: { widthMm: number; lengthMm: number; unit: LengthUnit };
  thickness?: { mm: number; unit: LengthUnit };
  finish?: string;
  peiClass?: number;
  slipRating?: string;
  dcof?: number;
  waterAbsorption?: { percent: number; comparator: Comparator };
  frostResistance?: boolean;
  colour?: string;
  standards: string[];
}

/** One generated specification sheet: what it says, row by row, and the fields it states. */
export interface SheetTruth {
  /** The rows of text as rendered, top to bottom; a row's columns joined by one space. */
  rows: string[];
  spec: ExpectedSpec;
}

/** A seeded generator (mulberry32), so the same seed renders the same sheets. */
export const seededRandom = mulberry32;

const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

const MATERIALS = [
  { name: 'porcelain', text: 'Glazed porcelain stoneware' },
  { name: 'porcelain', text: 'Full body porcelain' },
  { name: 'ceramic', text: 'Ceramic wall tile' },
  { name: 'marble', text: 'Natural marble' },
  { name: 'granite', text: 'Granite' },
  { name: 'travertine', text: 'Filled travertine' },
  { name: 'limestone', text: 'Limestone' },
  { name: 'slate', text: 'Slate' },
  { name: 'quartz', text: 'Engineered quartz' },
  { name: 'wood', text: 'Engineered oak' },
  { name: 'vinyl', text: 'Luxury vinyl tile' },
] as const;

const SIZES = [
  { text: '600 x 600 mm', widthMm: 600, lengthMm: 600, unit: 'mm' },
  { text: '300 x 600 mm', widthMm: 300, lengthMm: 600, unit: 'mm' },
  { text: '600 x 1200 mm', widthMm: 600, lengthMm: 1200, unit: 'mm' },
  { text: '750 x 1500 mm', widthMm: 750, lengthMm: 1500, unit: 'mm' },
  { text: '200 x 1200 mm', widthMm: 200, lengthMm: 1200, unit: 'mm' },
  { text: '60 x 120 cm', widthMm: 600, lengthMm: 1200, unit: 'cm' },
  { text: '80 x 80 cm', widthMm: 800, lengthMm: 800, unit: 'cm' },
  { text: '12" x 24"', widthMm: 304.8, lengthMm: 609.6, unit: 'in' },
  { text: '24 x 48 in', widthMm: 609.6, lengthMm: 1219.2, unit: 'in' },
] as const;

const THICKNESSES = [
  { text: '6 mm', mm: 6, unit: 'mm' },
  { text: '9 mm', mm: 9, unit: 'mm' },
  { text: '10 mm', mm: 10, unit: 'mm' },
  { text: '20 mm', mm: 20, unit: 'mm' },
  { text: '8.5 mm', mm: 8.5, unit: 'mm' },
  { text: '3/8"', mm: 9.5, unit: 'in' },
] as const;

const FINISHES = [
  { name: 'matt', text: 'Matt' },
  { name: 'polished', text: 'Polished' },
  { name: 'lappato', text: 'Lappato' },
  { name: 'satin', text: 'Satin' },
  { name: 'honed', text: 'Honed' },
  { name: 'structured', text: 'Structured' },
] as const;

const COLOURS = ['Warm Grey', 'Ivory', 'Anthracite', 'Beige', 'White', 'Sand', 'Charcoal', 'Taupe'];
const ROMAN = ['0', 'I', 'II', 'III', 'IV', 'V'];
const ABSORPTIONS = [
  { text: '≤ 0.5 %', percent: 0.5, comparator: '<=' },
  { text: '< 0.5%', percent: 0.5, comparator: '<' },
  { text: '0.1 %', percent: 0.1, comparator: '=' },
  { text: '≤ 3 %', percent: 3, comparator: '<=' },
  { text: '6 %', percent: 6, comparator: '=' },
] as const;
const STANDARDS = [
  'ISO 10545-2',
  'ISO 10545-3',
  'ISO 10545-7',
  'ISO 10545-12',
  'ISO 13006',
  'EN 14411',
  'ASTM C1028',
  'ASTM C373',
  'ANSI A137.1',
  'ANSI A326.3',
  'DIN 51130',
];
const NAMES = ['Aurora', 'Basalto', 'Calacatta', 'Dune', 'Etna', 'Fjord', 'Granito', 'Harbour'];

/**
 * One sheet's content, drawn from `random`: a product name, then a row per stated field as
 * "label: value" (or label and value in two columns, joined by a space in `rows`), some fields
 * left out at random, and a closing row citing standards.
 */
export function drawSheet(random: () => number, separator: ': ' | ' '): SheetTruth {
  const spec: ExpectedSpec = { standards: [] };
  const rows: string[] = [
    `${pick(random, NAMES)} ${pick(random, ['Series', 'Collection'])} - Technical data`,
  ];
  const keep = () => random() > 0.15;
  const row = (label: string, value: string) => rows.push(`${label}${separator}${value}`);

  const material = pick(random, MATERIALS);
  spec.material = material.name;
  row('Material', material.text);
  if (keep()) {
    const size = pick(random, SIZES);
    spec.dimensions = { widthMm: size.widthMm, lengthMm: size.lengthMm, unit: size.unit };
    row('Size', size.text);
  }
  if (keep()) {
    const thickness = pick(random, THICKNESSES);
    spec.thickness = { mm: thickness.mm, unit: thickness.unit };
    row('Thickness', thickness.text);
  }
  if (keep()) {
    const finish = pick(random, FINISHES);
    spec.finish = finish.name;
    row('Finish', finish.text);
  }
  if (keep()) {
    const colour = pick(random, COLOURS);
    spec.colour = colour.toLowerCase();
    row('Colour', colour);
  }
  if (keep()) {
    const pei = 1 + Math.floor(random() * 5);
    spec.peiClass = pei;
    row('Abrasion resistance', random() < 0.5 ? `PEI ${ROMAN[pei]}` : `PEI class ${pei}`);
  }
  if (keep()) {
    const slip = `R${9 + Math.floor(random() * 5)}`;
    spec.slipRating = slip;
    row('Slip resistance (DIN 51130)', slip);
    spec.standards.push('DIN 51130');
  }
  if (keep()) {
    const dcof = Math.round((0.42 + random() * 0.2) * 100) / 100;
    spec.dcof = dcof;
    row('DCOF (ANSI A326.3)', `≥ ${dcof.toFixed(2)}`);
    spec.standards.push('ANSI A326.3');
  }
  if (keep()) {
    const absorption = pick(random, ABSORPTIONS);
    spec.waterAbsorption = { percent: absorption.percent, comparator: absorption.comparator };
    row('Water absorption (ISO 10545-3)', absorption.text);
    spec.standards.push('ISO 10545-3');
  }
  if (keep()) {
    const resistant = random() < 0.8;
    spec.frostResistance = resistant;
    row('Frost resistance', resistant ? 'Resistant (ISO 10545-12)' : 'Not frost resistant');
    if (resistant) spec.standards.push('ISO 10545-12');
  }

  const cited = STANDARDS.filter((s) => !spec.standards.includes(s) && random() < 0.2).slice(0, 3);
  if (cited.length > 0) {
    rows.push(`Complies with ${cited.join(', ')}`);
    spec.standards.push(...cited);
  }
  return { rows, spec };
}
