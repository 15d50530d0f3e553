import { growRect, minAreaRect, type Point, type RotatedRect, rectCorners } from './geometry.ts';

/** A probability map of text pixels, as the detector answers it: row-major, one channel. */
export interface ProbabilityMap {
  data: Float32Array;
  width: number;
  height: number;
}

/** How text boxes are read from a probability map; defaults follow the DB paper's setup. */
export interface BoxExtractionOptions {
  /** A pixel is text above this probability. @default 0.3 */
  threshold?: number;
  /** A box is kept when the mean probability inside it reaches this. @default 0.6 */
  boxThreshold?: number;
  /** How far the shrunk text kernel is grown back: area * ratio / perimeter. 1.5 (the DB
   * paper's) cut ascenders and last glyphs off PP-OCRv4's kernels in Kai's checks; 2 keeps them. @default 2 */
  unclipRatio?: number;
  /** Boxes whose short side (in map pixels) is below this are noise. @default 3 */
  minSize?: number;
  /** At most this many components are considered, largest first. @default 1000 */
  maxCandidates?: number;
}

/** One detected text region, in the coordinates it was asked for. */
export interface TextBox {
  /** Top-left, top-right, bottom-right, bottom-left. */
  corners: [Point, Point, Point, Point];
  /** Mean text probability inside the box before it was grown. */
  score: number;
  rect: RotatedRect;
}

// Limitation: every region becomes a rectangle; curved text gets its bounding rectangle, not
// a polygon that follows it.
/**
 * Differentiable-binarization post-processing: thresholds the map, labels 8-connected
 * components, fits each its rectangle of least area, keeps those whose mean probability
 * reaches `boxThreshold` and grows them by the unclip distance. Boxes are scaled by `scaleX`
 * and `scaleY` into the caller's image and clipped to `bounds`.
 */
export function extractTextBoxes(
  map: ProbabilityMap,
  scale: { scaleX: number; scaleY: number; bounds: { width: number; height: number } },
  options: BoxExtractionOptions = {},
): TextBox[] {
  const threshold = options.threshold ?? 0.3;
  const boxThreshold = options.boxThreshold ?? 0.6;
  const unclipRatio = options.unclipRatio ?? 2;
  const minSize = options.minSize ?? 3;
  const maxCandidates = options.maxCandidates ?? 1000;

  const components = labelComponents(map, threshold)
    .sort((a, b) => b.size - a.size)
    .slice(0, maxCandidates);

  const boxes: TextBox[] = [];
  for (const component of components) {
    const rect = minAreaRect(component.boundary);
    if (Math.min(rect.width, rect.height) < minSize) continue;

    const score = meanInside(map, rect, component.bbox);
    if (score < boxThreshold) continue;

    // The detector is trained on kernels shrunk by the same rule; grow the box back.
    const perimeter = 2 * (rect.width + rect.height);
    const distance = (rect.width * rect.height * unclipRatio) / perimeter;
    const grown = growRect(rect, distance);
    if (Math.min(grown.width, grown.height) < minSize + 2) continue;

    const corners = rectCorners(grown).map((p) => ({
      x: clamp(p.x * scale.scaleX, 0, scale.bounds.width),
      y: clamp(p.y * scale.scaleY, 0, scale.bounds.height),
    })) as TextBox['corners'];
    boxes.push({ corners, score, rect: grown });
  }
  return boxes;
}

interface Component {
  size: number;
  /** Centres of its pixels that touch the outside (4-neighbourhood). */
  boundary: Point[];
  bbox: { minX: number; minY: number; maxX: number; maxY: number };
}

/** 8-connected components of the pixels above `threshold`, found by an explicit stack. */
export function labelComponents(map: ProbabilityMap, threshold: number): Component[] {
  const { data, width, height } = map;
  const on = new Uint8Array(width * height);
  for (let i = 0; i < on.length; i++) on[i] = (data[i] ?? 0) > threshold ? 1 : 0;

  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const components: Component[] = [];
  const isOn = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < width && y < height && on[y * width + x] === 1;

  for (let start = 0; start < on.length; start++) {
    if (on[start] !== 1 || seen[start] === 1) continue;

    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    const boundary: Point[] = [];
    const bbox = { minX: width, minY: height, maxX: 0, maxY: 0 };
    let size = 0;
    while (top > 0) {
      const index = stack[--top] as number;
      const x = index % width;
      const y = (index - x) / width;
      size++;
      bbox.minX = Math.min(bbox.minX, x);
      bbox.maxX = Math.max(bbox.maxX, x);
      bbox.minY = Math.min(bbox.minY, y);
      bbox.maxY = Math.max(bbox.maxY, y);
      if (!isOn(x - 1, y) || !isOn(x + 1, y) || !isOn(x, y - 1) || !isOn(x, y + 1)) {
        boundary.push({ x, y });
      }

      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (!isOn(nx, ny)) continue;
          const next = ny * width + nx;
          if (seen[next] === 1) continue;
          seen[next] = 1;
          stack[top++] = next;
        }
      }
    }
    components.push({ size, boundary, bbox });
  }
  return components;
}

/** The mean of the map over the pixels whose centres lie inside `rect`. */
function meanInside(map: ProbabilityMap, rect: RotatedRect, bbox: Component['bbox']): number {
  const ux = Math.cos(rect.angleRad);
  const uy = Math.sin(rect.angleRad);
  const hw = rect.width / 2 + 0.5;
  const hh = rect.height / 2 + 0.5;
  let sum = 0;
  let count = 0;
  for (let y = bbox.minY; y <= bbox.maxY; y++) {
    for (let x = bbox.minX; x <= bbox.maxX; x++) {
      const dx = x - rect.center.x;
      const dy = y - rect.center.y;
      if (Math.abs(dx * ux + dy * uy) > hw || Math.abs(-dx * uy + dy * ux) > hh) continue;
      sum += map.data[y * map.width + x] ?? 0;
      count++;
    }
  }
  return count === 0 ? 0 : sum / count;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
