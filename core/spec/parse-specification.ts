import { FIELD_RULES } from './field-rules.ts';
import { repairOcrWords } from './ocr-text-repair.ts';
import type { SpecField, Specification, SpecLine } from './specification.ts';
import { citedStandards } from './standards.ts';

type SingleField = Exclude<keyof Specification, 'standards'>;

/**
 * Reads the specification of a material product from its text, one line at a time: each field
 * takes the value of the line where its most specific rule matched (a labelled "Thickness:
 * 10 mm" over a bare "600 x 600 x 10 mm"), first line first on a tie. Lengths are normalised
 * to millimetres. A field's confidence is its rule's certainty times the line's OCR
 * confidence. Deterministic; never throws.
 */
export function parseSpecification(input: string | readonly SpecLine[]): Specification {
  const lines: SpecLine[] =
    typeof input === 'string' ? input.split(/\r?\n/).map((text) => ({ text })) : [...input];

  const best = new Map<SingleField, SpecField<unknown>>();
  const standards: SpecField<string>[] = [];
  for (const [index, line] of lines.entries()) {
    const text = repairOcrWords(line.text.replace(/\s+/g, ' ').trim());
    if (text === '') continue;
    const lineConfidence = clamp01(line.confidence ?? 1);

    for (const field of Object.keys(FIELD_RULES) as SingleField[]) {
      const rule = FIELD_RULES[field] as (
        text: string,
      ) => { value: unknown; certainty: number } | undefined;
      const match = rule(text);
      if (!match) continue;
      const confidence = round(match.certainty * lineConfidence);
      const current = best.get(field);
      if (current === undefined || confidence > current.confidence) {
        best.set(field, { value: match.value, sourceText: line.text, confidence, line: index });
      }
    }

    for (const standard of citedStandards(text)) {
      if (standards.some((s) => s.value === standard.name)) continue;
      standards.push({
        value: standard.name,
        sourceText: line.text,
        confidence: round(0.95 * lineConfidence),
        line: index,
      });
    }
  }

  return { ...(Object.fromEntries(best) as Omit<Specification, 'standards'>), standards };
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
