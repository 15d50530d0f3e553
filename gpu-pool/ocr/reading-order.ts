import type { Point } from './geometry.ts';

/** Anything with four corners: top-left, top-right, bottom-right, bottom-left. */
export interface Boxed {
  corners: readonly [Point, Point, Point, Point];
}

/**
 * Sorts boxes into reading order for left-to-right text: into rows (a box joins a row when
 * their vertical extents overlap by at least half of the shorter one), rows top to bottom,
 * boxes left to right within a row. Returns the rows.
 */
export function readingOrder<T extends Boxed>(boxes: readonly T[]): T[][] {
  const spans = boxes
    .map((box) => {
      const ys = box.corners.map((p) => p.y);
      const xs = box.corners.map((p) => p.x);
      return { box, top: Math.min(...ys), bottom: Math.max(...ys), left: Math.min(...xs) };
    })
    .sort((a, b) => a.top + a.bottom - (b.top + b.bottom));

  const rows: { top: number; bottom: number; items: typeof spans }[] = [];
  for (const span of spans) {
    const row = rows.find((r) => {
      const overlap = Math.min(r.bottom, span.bottom) - Math.max(r.top, span.top);
      return overlap >= 0.5 * Math.min(r.bottom - r.top, span.bottom - span.top);
    });
    if (row) {
      row.items.push(span);
      row.top = Math.min(row.top, span.top);
      row.bottom = Math.max(row.bottom, span.bottom);
    } else {
      rows.push({ top: span.top, bottom: span.bottom, items: [span] });
    }
  }

  return rows
    .sort((a, b) => a.top + a.bottom - (b.top + b.bottom))
    .map((row) => row.items.sort((a, b) => a.left - b.left).map((item) => item.box));
}
