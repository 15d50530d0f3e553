/** One extracted field: its normalised value, the text it came from and how sure Kai is. */
export interface SpecField<Value> {
  value: Value;
  /** The line of the input the value was read from, as it was given. */
  sourceText: string;
  /** 0-1: how specific the rule that matched was, times the OCR's confidence in the line. */
  confidence: number;
  /** Index of the source line in the input, from 0. */
  line: number;
}

/** A length as written and in millimetres. */
export interface Length {
  mm: number;
  /** The unit the source used. */
  unit: LengthUnit;
}

/** The length units Kai reads in specifications. */
export type LengthUnit = 'mm' | 'cm' | 'm' | 'in' | 'ft';

/** A comparison a specification states a limit with, such as "≤ 0.5 %". */
export type Comparator = '<' | '<=' | '=' | '>=' | '>';

/** The structured specification of a material product; absent fields were not found. */
export interface Specification {
  /** Canonical material, such as "porcelain", "marble", "wood". */
  material?: SpecField<string>;
  /** Face size, in the order written (width then length). */
  dimensions?: SpecField<{ widthMm: number; lengthMm: number; unit: LengthUnit }>;
  thickness?: SpecField<Length>;
  /** Canonical surface finish, such as "matt", "polished", "lappato". */
  finish?: SpecField<string>;
  /** PEI abrasion class 0-5. */
  peiClass?: SpecField<number>;
  /** DIN 51130 ramp class, "R9" to "R13". */
  slipRating?: SpecField<string>;
  /** Dynamic coefficient of friction (ANSI A326.3). */
  dcof?: SpecField<number>;
  waterAbsorption?: SpecField<{ percent: number; comparator: Comparator }>;
  /** True when stated frost resistant, false when stated not. */
  frostResistance?: SpecField<boolean>;
  /** The colour as named, lower case, "gray" spelt "grey". */
  colour?: SpecField<string>;
  /** Standards cited, canonical ("ISO 10545-3", "ASTM C1028"), each once, in order found. */
  standards: SpecField<string>[];
}

/** One line of input text, with the OCR's confidence when it was read from an image. */
export interface SpecLine {
  text: string;
  /** @default 1 */
  confidence?: number;
}
