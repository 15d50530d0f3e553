import { TEXTURE_NET } from './texture-net-spec.ts';

/** Which way a texture runs, from the Gabor energy per orientation. */
export interface OrientationSummary {
  /** The orientations of the bank in degrees: the direction across the stripes each answers. */
  anglesDeg: number[];
  /** Mean Gabor energy per orientation, summed over scales. */
  energy: number[];
  /**
   * The direction (degrees in [0, 180), image axes, y down) in which brightness varies most:
   * 0 for vertical stripes, 90 for horizontal ones.
   */
  dominantDeg: number;
  /** 0 for an isotropic texture (speckle), towards 1 for pure stripes. */
  anisotropy: number;
}

/** Summarises the net's `orientation_energy` by the circular mean of the doubled angles. */
export function summariseOrientation(energy: readonly number[]): OrientationSummary {
  const anglesDeg = energy.map((_, o) => (o * 180) / TEXTURE_NET.orientations);
  let re = 0;
  let im = 0;
  let total = 0;
  for (const [o, value] of energy.entries()) {
    const doubled = (2 * Math.PI * o) / TEXTURE_NET.orientations;
    re += value * Math.cos(doubled);
    im += value * Math.sin(doubled);
    total += value;
  }

  const degrees = ((Math.atan2(im, re) * 180) / Math.PI / 2 + 180) % 180;
  return {
    anglesDeg,
    energy: [...energy],
    dominantDeg: Math.round(degrees * 10) / 10,
    anisotropy: total > 0 ? Math.hypot(re, im) / total : 0,
  };
}
