/** A point in image pixels, x to the right and y down. */
export interface Point {
  x: number;
  y: number;
}

/** A rotated rectangle: its centre, side lengths and the angle of its width side in radians. */
export interface RotatedRect {
  center: Point;
  width: number;
  height: number;
  angleRad: number;
}

/**
 * The convex hull of `points` (Andrew's monotone chain), counter-clockwise in y-down image
 * terms, without repeated or collinear points. Fewer than three distinct points come back as
 * they are, deduplicated.
 */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const unique = sorted.filter(
    (p, i) => i === 0 || p.x !== sorted[i - 1]?.x || p.y !== sorted[i - 1]?.y,
  );
  if (unique.length < 3) return unique;

  const cross = (o: Point, a: Point, b: Point) =>
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const half = (list: Point[]) => {
    const chain: Point[] = [];
    for (const p of list) {
      while (
        chain.length >= 2 &&
        cross(chain[chain.length - 2] as Point, chain[chain.length - 1] as Point, p) <= 0
      ) {
        chain.pop();
      }
      chain.push(p);
    }
    chain.pop();
    return chain;
  };
  return [...half(unique), ...half([...unique].reverse())];
}

/**
 * The rectangle of least area that holds `points` (rotating calipers over the hull's edges).
 * Its `width` runs along `angleRad`, which lies in (-pi/2, pi/2]; a single point gives a
 * rectangle of size zero.
 */
export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points);
  const first = hull[0] ?? { x: 0, y: 0 };
  if (hull.length < 2) return { center: { ...first }, width: 0, height: 0, angleRad: 0 };

  let best: RotatedRect | undefined;
  let bestArea = Number.POSITIVE_INFINITY;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i] as Point;
    const b = hull[(i + 1) % hull.length] as Point;
    const length = Math.hypot(b.x - a.x, b.y - a.y);
    if (length === 0) continue;

    // Project every hull point on the edge direction and its normal.
    const ux = (b.x - a.x) / length;
    const uy = (b.y - a.y) / length;
    let [minU, maxU, minV, maxV] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const p of hull) {
      const u = p.x * ux + p.y * uy;
      const v = -p.x * uy + p.y * ux;
      minU = Math.min(minU, u);
      maxU = Math.max(maxU, u);
      minV = Math.min(minV, v);
      maxV = Math.max(maxV, v);
    }

    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = {
        center: { x: cu * ux - cv * uy, y: cu * uy + cv * ux },
        width: maxU - minU,
        height: maxV - minV,
        angleRad: Math.atan2(uy, ux),
      };
    }
  }
  return normaliseAngle(best ?? { center: { ...first }, width: 0, height: 0, angleRad: 0 });
}

/** The same rectangle with its angle in (-pi/4, pi/4], swapping sides where needed. */
function normaliseAngle(rect: RotatedRect): RotatedRect {
  let { width, height, angleRad } = rect;
  while (angleRad > Math.PI / 4) {
    angleRad -= Math.PI / 2;
    [width, height] = [height, width];
  }
  while (angleRad <= -Math.PI / 4) {
    angleRad += Math.PI / 2;
    [width, height] = [height, width];
  }
  return { center: rect.center, width, height, angleRad };
}

/**
 * The four corners of `rect` in reading order: top-left, top-right, bottom-right, bottom-left
 * (for an angle in (-pi/4, pi/4], the width side runs left to right).
 */
export function rectCorners(rect: RotatedRect): [Point, Point, Point, Point] {
  const ux = Math.cos(rect.angleRad);
  const uy = Math.sin(rect.angleRad);
  const hw = rect.width / 2;
  const hh = rect.height / 2;
  const at = (u: number, v: number): Point => ({
    x: rect.center.x + u * ux - v * uy,
    y: rect.center.y + u * uy + v * ux,
  });
  return [at(-hw, -hh), at(hw, -hh), at(hw, hh), at(-hw, hh)];
}

/** The rectangle grown by `distance` on every side (the offset of a rectangle, squared off). */
export function growRect(rect: RotatedRect, distance: number): RotatedRect {
  return {
    center: rect.center,
    width: rect.width + 2 * distance,
    height: rect.height + 2 * distance,
    angleRad: rect.angleRad,
  };
}
