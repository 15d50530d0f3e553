// Seeded value noise for the procedural texture set: smooth random fields from a hashed
// integer lattice, summed over octaves (fractal Brownian motion). Deterministic per seed.

/** A smooth random field over the plane, values roughly in [-1, 1]. */
export type Field = (x: number, y: number) => number;

/** Value noise on an integer lattice with smoothstep interpolation; period-free. */
export function valueNoise(seed: number): Field {
  const hash = (ix: number, iy: number): number => {
    let h = Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ Math.imul(seed, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) / 2_147_483_648 - 1;
  };
  return (x, y) => {
    const ix = Math.floor(x);
    const iy = Math.floor(y);
    const fx = x - ix;
    const fy = y - iy;
    const sx = fx * fx * (3 - 2 * fx);
    const sy = fy * fy * (3 - 2 * fy);
    const top = hash(ix, iy) + (hash(ix + 1, iy) - hash(ix, iy)) * sx;
    const bottom = hash(ix, iy + 1) + (hash(ix + 1, iy + 1) - hash(ix, iy + 1)) * sx;
    return top + (bottom - top) * sy;
  };
}

/** Octaves of value noise, each twice the frequency and `gain` times the amplitude. */
export function fbm(seed: number, octaves: number, gain = 0.5): Field {
  const layers = Array.from({ length: octaves }, (_, i) => valueNoise(seed + i * 1013));
  let total = 0;
  for (let i = 0; i < octaves; i++) total += gain ** i;
  return (x, y) => {
    let sum = 0;
    let frequency = 1;
    let amplitude = 1;
    for (const layer of layers) {
      sum += amplitude * layer(x * frequency, y * frequency);
      frequency *= 2;
      amplitude *= gain;
    }
    return sum / total;
  };
}
