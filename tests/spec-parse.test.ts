import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lengthUnitOf, parseSpecNumber, toMillimetres } from '../core/spec/length-units.ts';
import { repairOcrWords } from '../core/spec/ocr-text-repair.ts';
import { parseSpecification } from '../core/spec/parse-specification.ts';
import { citedStandards } from '../core/spec/standards.ts';

describe('parseSpecification', () => {
  const sheet = [
    'Aurora Collection - Technical data',
    'Material: Glazed porcelain stoneware',
    'Size: 600 x 1200 mm',
    'Thickness: 10 mm',
    'Finish: Lappato',
    'Colour: Warm Gray',
    'Abrasion resistance: PEI IV',
    'Slip resistance (DIN 51130): R11',
    'DCOF (ANSI A326.3): ≥ 0.42',
    'Water absorption (ISO 10545-3): ≤ 0.5 %',
    'Frost resistance: Resistant (EN ISO 10545-12)',
    'Complies with EN 14411, ASTM C1028, ANSI A137.1',
  ].join('\n');

  it('reads every field of a labelled sheet, normalised', () => {
    const spec = parseSpecification(sheet);

    expect(spec.material?.value).toBe('porcelain');
    expect(spec.dimensions?.value).toEqual({ widthMm: 600, lengthMm: 1200, unit: 'mm' });
    expect(spec.thickness?.value).toEqual({ mm: 10, unit: 'mm' });
    expect(spec.finish?.value).toBe('lappato');
    expect(spec.colour?.value).toBe('warm grey');
    expect(spec.peiClass?.value).toBe(4);
    expect(spec.slipRating?.value).toBe('R11');
    expect(spec.dcof?.value).toBe(0.42);
    expect(spec.waterAbsorption?.value).toEqual({ percent: 0.5, comparator: '<=' });
    expect(spec.frostResistance?.value).toBe(true);
    expect(spec.standards.map((s) => s.value)).toEqual([
      'DIN 51130',
      'ANSI A326.3',
      'ISO 10545-3',
      'ISO 10545-12',
      'EN 14411',
      'ASTM C1028',
      'ANSI A137.1',
    ]);
  });

  it('gives each field its source line, line index and a confidence', () => {
    const spec = parseSpecification(sheet);

    expect(spec.thickness).toMatchObject({ sourceText: 'Thickness: 10 mm', line: 3 });
    expect(spec.thickness?.confidence).toBeCloseTo(0.95);
    expect(spec.standards[0]).toMatchObject({ sourceText: 'Slip resistance (DIN 51130): R11' });
  });

  it('normalises inches, centimetres and fractions to millimetres', () => {
    expect(parseSpecification('Size: 12" x 24"').dimensions?.value).toEqual({
      widthMm: 304.8,
      lengthMm: 609.6,
      unit: 'in',
    });
    expect(parseSpecification('Format 60 x 120 cm').dimensions?.value).toMatchObject({
      widthMm: 600,
      lengthMm: 1200,
    });
    expect(parseSpecification('Thickness: 3/8"').thickness?.value).toEqual({ mm: 9.5, unit: 'in' });
    expect(parseSpecification('Thickness 9,5 mm').thickness?.value.mm).toBe(9.5);
  });

  it('reads a unitless size only when labelled and plainly millimetres', () => {
    expect(parseSpecification('Size: 600 x 1200').dimensions).toMatchObject({
      value: { widthMm: 600, lengthMm: 1200, unit: 'mm' },
      confidence: 0.5,
    });
    expect(parseSpecification('Nominal size: 12 x 24').dimensions).toBeUndefined();
    expect(parseSpecification('Format 30x60').dimensions).toBeUndefined();
    expect(parseSpecification('600 x 600').dimensions).toBeUndefined();
  });

  it('takes the thickness of "w x l x t" unless a labelled thickness says otherwise', () => {
    expect(parseSpecification('Tile 600 x 600 x 10 mm').thickness?.value.mm).toBe(10);
    const both = parseSpecification('Tile 600 x 600 x 10 mm\nThickness: 9 mm');
    expect(both.thickness?.value.mm).toBe(9);
    expect(both.thickness?.line).toBe(1);
  });

  it('reads prose as well as labelled lines', () => {
    const spec = parseSpecification(
      'This polished marble tile measures 300 x 600 mm and is 20 mm thick. It is not frost ' +
        'resistant, and has a water absorption below 0.2%.',
    );
    expect(spec.material?.value).toBe('marble');
    expect(spec.finish?.value).toBe('polished');
    expect(spec.dimensions?.value).toMatchObject({ widthMm: 300, lengthMm: 600 });
    expect(spec.thickness?.value.mm).toBe(20);
    expect(spec.frostResistance?.value).toBe(false);
    expect(spec.waterAbsorption?.value).toEqual({ percent: 0.2, comparator: '<' });
  });

  it('reads PEI classes in roman or arabic numerals, with or without a label', () => {
    expect(parseSpecification('PEI class 3').peiClass?.value).toBe(3);
    expect(parseSpecification('PEI: V').peiClass?.value).toBe(5);
    expect(parseSpecification('Abrasion PEII').peiClass?.value).toBe(1);
    expect(parseSpecification('Class IV (PEI)').peiClass?.value).toBe(4);
    expect(parseSpecification('PEI class 7').peiClass).toBeUndefined();
  });

  it('reads R9 to R13 only, and DCOF past the standard named beside it', () => {
    expect(parseSpecification('Anti-slip R13').slipRating?.value).toBe('R13');
    expect(parseSpecification('R14 rated').slipRating).toBeUndefined();
    expect(parseSpecification('Slip R10, PEI IV').slipRating?.value).toBe('R10');
    expect(parseSpecification('Ratio R10.5').slipRating).toBeUndefined();
    expect(parseSpecification('DCOF (ANSI A326.3): 0.55').dcof?.value).toBe(0.55);
    expect(parseSpecification('ANSI A326.3 DCOF ≥ 0,42').dcof?.value).toBe(0.42);
  });

  it('survives OCR slips: digits in words, missing spaces, lower OCR confidence', () => {
    const spec = parseSpecification([
      { text: 'Water abs0rption (IS0 10545-3) ≤3%', confidence: 0.8 },
      { text: 'Frost resistance Resistant (Iso 10545-12)', confidence: 0.9 },
    ]);
    expect(spec.waterAbsorption?.value).toEqual({ percent: 3, comparator: '<=' });
    expect(spec.waterAbsorption?.confidence).toBeCloseTo(0.95 * 0.8);
    expect(spec.standards.map((s) => s.value)).toEqual(['ISO 10545-3', 'ISO 10545-12']);
  });

  it('prefers the labelled material over one mentioned in passing', () => {
    const spec = parseSpecification('Tested as ceramic tiles per ISO 13006\nMaterial: Granite');
    expect(spec.material).toMatchObject({ value: 'granite', line: 1 });
  });

  it('finds nothing in text without a specification, and never throws', () => {
    expect(parseSpecification('Hello, world.\n\n')).toEqual({ standards: [] });
    expect(parseSpecification('')).toEqual({ standards: [] });
    expect(parseSpecification(`${'x'.repeat(10_000)} 5 x`)).toEqual({ standards: [] });
  });
});

describe('parseSpecification on generated input', () => {
  it('never throws, and every field it finds points at a line of its input', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 80 }), { maxLength: 12 }), (lines) => {
        const spec = parseSpecification(lines.join('\n'));
        const fields = [...Object.values(spec).filter((f) => !Array.isArray(f)), ...spec.standards];
        for (const field of fields as { line: number; sourceText: string; confidence: number }[]) {
          expect(lines[field.line]).toBe(field.sourceText);
          expect(field.confidence).toBeGreaterThan(0);
          expect(field.confidence).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('normalises any written size to the same millimetres', () => {
    const factor = { mm: 1, cm: 10, in: 25.4 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.constantFrom('mm', 'cm', 'in'),
        fc.constantFrom(' x ', 'x', ' × ', ' X '),
        (width, length, unit, times) => {
          const spec = parseSpecification(`Size: ${width}${times}${length} ${unit}`);
          expect(spec.dimensions?.value.widthMm).toBeCloseTo(width * factor[unit], 1);
          expect(spec.dimensions?.value.lengthMm).toBeCloseTo(length * factor[unit], 1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('citedStandards', () => {
  it('names national adoptions by their ISO or EN number, once per citation', () => {
    const names = citedStandards('DIN EN ISO 10545-2, BS EN 16165, DIN 51130 and ISO 13006:2018');
    expect(names.map((s) => s.name)).toEqual(['ISO 10545-2', 'EN 16165', 'DIN 51130', 'ISO 13006']);
  });

  it('reads ASTM and ANSI designations', () => {
    const names = citedStandards('ASTM C 1028, ASTM C373-18, ANSI A137.1-2022');
    expect(names.map((s) => s.name)).toEqual(['ASTM C1028', 'ASTM C373', 'ANSI A137.1']);
  });
});

describe('length units', () => {
  it('knows the written forms of each unit', () => {
    expect(['mm', 'cm', 'm', 'inch', '"', 'in.', 'ft', "'"].map(lengthUnitOf)).toEqual([
      'mm',
      'cm',
      'm',
      'in',
      'in',
      'in',
      'ft',
      'ft',
    ]);
    expect(lengthUnitOf('furlong')).toBeUndefined();
  });

  it('parses decimals, decimal commas and inch fractions', () => {
    expect(parseSpecNumber('9,5')).toBe(9.5);
    expect(parseSpecNumber('1 1/2')).toBe(1.5);
    expect(parseSpecNumber('1-1/4')).toBe(1.25);
    expect(parseSpecNumber('abc')).toBeNaN();
    expect(toMillimetres(0.375, 'in')).toBe(9.5);
    expect(toMillimetres(2, 'ft')).toBe(609.6);
  });
});

describe('repairOcrWords', () => {
  it('undoes digit-for-letter slips in words and leaves codes alone', () => {
    expect(repairOcrWords('IS0 10545-3')).toBe('ISO 10545-3');
    expect(repairOcrWords('abs0rption c1ass')).toBe('absorption class');
    expect(repairOcrWords('PEl IV, lS0 13006')).toBe('PEI IV, ISO 13006');
    expect(repairOcrWords('lvory Wall')).toBe('lvory Wall');
    for (const code of ['R10', 'C1028', 'A137.1', '10mm', '600x600', 'BS5']) {
      expect(repairOcrWords(code)).toBe(code);
    }
  });
});
