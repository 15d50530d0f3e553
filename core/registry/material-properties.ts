import { z } from 'zod';

/**
 * The physical properties a material type is described by, in the units their names carry.
 * Each maps to one dimension of the property vector, in this order:
 *
 * | # | property                   | unit   | scale | normalisation to t in [0, 1]              |
 * |---|----------------------------|--------|-------|-------------------------------------------|
 * | 0 | densityKgM3                | kg/m3  | log   | ln(x / 100) / ln(20000 / 100)             |
 * | 1 | mohsHardness               | Mohs   | lin   | (x - 1) / 9                               |
 * | 2 | porosity (open, volume)    | 0-1    | sqrt  | sqrt(x), so 0.5% and 5% stay apart        |
 * | 3 | gloss60Gu (gloss at 60deg) | GU     | lin   | x / 100 (mirror finishes clamp at 1)      |
 * | 4 | roughnessRaUm (Ra)         | um     | log   | (log10(x) + 2) / 4, 0.01 to 100 um        |
 * | 5 | grainScaleMm (texture)     | mm     | log   | (log10(x) + 2) / 4, 0.01 to 100 mm        |
 * | 6 | colorVariation             | 0-1    | lin   | x (spread of colour over the surface)     |
 * | 7 | thermalConductivityWmK     | W/(mK) | log   | (log10(x) + 2) / (log10(500) + 2)         |
 *
 * Every t is clamped to [0, 1] and the vector holds 2t - 1, in [-1, 1]: centring makes the
 * cosine similarity tell materials apart (on all-positive vectors every cosine is high).
 * Fabrics have no Mohs hardness; use 1 (the scale's softest), as the seed data does.
 */
export const materialPropertiesSchema = z.strictObject({
  densityKgM3: z.number().positive().max(50_000),
  mohsHardness: z.number().min(1).max(10),
  porosity: z.number().min(0).max(1),
  gloss60Gu: z.number().min(0).max(2000),
  roughnessRaUm: z.number().positive().max(10_000),
  grainScaleMm: z.number().positive().max(100_000),
  colorVariation: z.number().min(0).max(1),
  thermalConductivityWmK: z.number().positive().max(5000),
});

export type MaterialProperties = z.infer<typeof materialPropertiesSchema>;

/** The number of dimensions of the property vector. */
export const PROPERTY_DIMENSIONS = 8;

const clamp01 = (t: number) => Math.min(1, Math.max(0, t));

/** The normalised property vector of `p`, each dimension in [-1, 1]; see the table above. */
export function propertyVectorOf(p: MaterialProperties): number[] {
  const t = [
    Math.log(p.densityKgM3 / 100) / Math.log(20_000 / 100),
    (p.mohsHardness - 1) / 9,
    Math.sqrt(p.porosity),
    p.gloss60Gu / 100,
    (Math.log10(p.roughnessRaUm) + 2) / 4,
    (Math.log10(p.grainScaleMm) + 2) / 4,
    p.colorVariation,
    (Math.log10(p.thermalConductivityWmK) + 2) / (Math.log10(500) + 2),
  ];
  return t.map((x) => round6(2 * clamp01(x) - 1));
}

/** Cosine similarity of two vectors of one length; 0 when either is all zeros. */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
