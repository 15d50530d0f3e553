/**
 * mulberry32: a small 32-bit pseudo-random generator whose sequence is fixed by its seed, for
 * generated weights, rendered test sets and anything else that must come out the same on every
 * machine. Returns a function giving numbers in [0, 1). Not for secrets.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
