// The normal distribution's CDF, its inverse and the truncated normal the Parzen estimators of
// TPE are made of. Tails are handled by symmetry so that far-out truncations keep precision.

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** erfc(x) with relative error below 1.2e-7 (Chebyshev fit, Numerical Recipes' erfcc). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t *
                              (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** The standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / SQRT2);
}

/**
 * The standard normal quantile (Acklam's rational approximation, refined by one Halley step).
 * `p` must lie in (0, 1).
 */
export function normalQuantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const [a0, a1, a2, a3, a4, a5] = ACKLAM_A;
  const [b0, b1, b2, b3, b4] = ACKLAM_B;
  const [c0, c1, c2, c3, c4, c5] = ACKLAM_C;
  const [d0, d1, d2, d3] = ACKLAM_D;
  const tail = (q: number) =>
    (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
    ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);

  let x: number;
  if (p < ACKLAM_LOW) {
    x = tail(Math.sqrt(-2 * Math.log(p)));
  } else if (p <= 1 - ACKLAM_LOW) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
      (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    x = -tail(Math.sqrt(-2 * Math.log(1 - p)));
  }

  // One Halley step brings the approximation to full double precision.
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

const ACKLAM_LOW = 0.02425;
const ACKLAM_A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
] as const;
const ACKLAM_B = [
  -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
] as const;
const ACKLAM_C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
  4.374664141464968, 2.938163982698783,
] as const;
const ACKLAM_D = [
  0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416,
] as const;

/** The probability a standard normal falls in [a, b], precise in either tail. */
export function normalMass(a: number, b: number): number {
  if (a > 0) return normalCdf(-a) - normalCdf(-b);
  return normalCdf(b) - normalCdf(a);
}

const MIN_MASS = 1e-300;

/**
 * log density at `x` of a normal(mu, sigma) truncated to [low, high].
 */
export function truncatedNormalLogPdf(
  x: number,
  mu: number,
  sigma: number,
  low: number,
  high: number,
): number {
  const z = (x - mu) / sigma;
  const mass = Math.max(MIN_MASS, normalMass((low - mu) / sigma, (high - mu) / sigma));
  return -0.5 * z * z - LOG_SQRT_2PI - Math.log(sigma) - Math.log(mass);
}

/**
 * log probability that a normal(mu, sigma) truncated to [low - step/2, high + step/2] lands in
 * the cell [x - step/2, x + step/2]: the kernel of a parameter on a grid.
 */
export function discreteTruncatedNormalLogPmf(
  x: number,
  mu: number,
  sigma: number,
  low: number,
  high: number,
  step: number,
): number {
  const half = step / 2;
  const cell = normalMass((x - half - mu) / sigma, (x + half - mu) / sigma);
  const mass = normalMass((low - half - mu) / sigma, (high + half - mu) / sigma);
  return Math.log(Math.max(MIN_MASS, cell)) - Math.log(Math.max(MIN_MASS, mass));
}

/** A draw from normal(mu, sigma) truncated to [low, high], by the inverse CDF, given u in [0,1). */
export function sampleTruncatedNormal(
  u: number,
  mu: number,
  sigma: number,
  low: number,
  high: number,
): number {
  let a = (low - mu) / sigma;
  let b = (high - mu) / sigma;
  // In the upper tail, sample the mirror image, where the CDF has its precision.
  const mirrored = a > 0;
  if (mirrored) [a, b] = [-b, -a];
  const pa = normalCdf(a);
  const pb = normalCdf(b);
  const p = pa + u * (pb - pa);
  let z = pb - pa < 1e-300 ? (a + b) / 2 : normalQuantile(Math.min(1 - 1e-16, Math.max(1e-300, p)));
  z = Math.min(b, Math.max(a, z));
  if (mirrored) z = -z;
  return Math.min(high, Math.max(low, mu + sigma * z));
}
