import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../gpu-pool/images/decode-image.ts';
import { cropLine } from '../gpu-pool/ocr/crop-line.ts';
import { characterSetOf, decodeCtcGreedy } from '../gpu-pool/ocr/ctc-decode.ts';
import { extractTextBoxes, type ProbabilityMap } from '../gpu-pool/ocr/db-postprocess.ts';
import { detectorInput, detectorSize, normalisePlanes } from '../gpu-pool/ocr/detector-input.ts';
import { convexHull, minAreaRect, type Point } from '../gpu-pool/ocr/geometry.ts';
import { halfTurn } from '../gpu-pool/ocr/line-orientation.ts';
import { readingOrder } from '../gpu-pool/ocr/reading-order.ts';
import { recognizerBatch, WIDTH_BUCKETS, widthBucket } from '../gpu-pool/ocr/recognizer-input.ts';

/** A map of zeros with `value` inside each rectangle rotated by `angleRad` about its centre. */
function mapWith(
  width: number,
  height: number,
  rects: { cx: number; cy: number; w: number; h: number; angleRad?: number; value?: number }[],
): ProbabilityMap {
  const data = new Float32Array(width * height);
  for (const r of rects) {
    const [c, s] = [Math.cos(r.angleRad ?? 0), Math.sin(r.angleRad ?? 0)];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [dx, dy] = [x - r.cx, y - r.cy];
        if (Math.abs(dx * c + dy * s) <= r.w / 2 && Math.abs(-dx * s + dy * c) <= r.h / 2) {
          data[y * width + x] = r.value ?? 0.9;
        }
      }
    }
  }
  return { data, width, height };
}

const identity = (width: number, height: number) => ({
  scaleX: 1,
  scaleY: 1,
  bounds: { width, height },
});

describe('detector preprocessing', () => {
  it('scales the longer side down to maxSideLen and rounds both sides to multiples of 32', () => {
    expect(detectorSize(1000, 700)).toEqual({ width: 960, height: 672 });
    expect(detectorSize(400, 50)).toEqual({ width: 416, height: 64 });
    expect(detectorSize(10, 10)).toEqual({ width: 32, height: 32 });
    expect(detectorSize(3000, 1000, 1500)).toEqual({ width: 1504, height: 512 });
  });

  it('normalises into BGR planes with the per-plane mean and deviation', () => {
    // One pixel, R=255 G=0 B=51.
    const planes = normalisePlanes(Uint8Array.from([255, 0, 51]), 1, 1, {
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    });
    expect(planes[0]).toBeCloseTo((51 / 255 - 0.5) / 0.5);
    expect(planes[1]).toBeCloseTo(-1);
    expect(planes[2]).toBeCloseTo(1);
  });

  it('resizes with sharp and says how to scale the map back', async () => {
    const image: RgbImage = { data: Buffer.alloc(1000 * 500 * 3, 255), width: 1000, height: 500 };
    const input = await detectorInput(image);
    expect([input.width, input.height]).toEqual([960, 480]);
    expect(input.data.length).toBe(3 * 960 * 480);
    expect(input.scaleX).toBeCloseTo(1000 / 960);
    // White everywhere: (1 - 0.485) / 0.229 on the B plane (ImageNet's first statistic).
    expect(input.data[0]).toBeCloseTo((1 - 0.485) / 0.229, 4);
  });
});

describe('geometry', () => {
  it('finds the convex hull and the rectangle of least area', () => {
    const square: Point[] = [
      { x: 0, y: 0 },
      { x: 2, y: 0 },
      { x: 2, y: 2 },
      { x: 0, y: 2 },
      { x: 1, y: 1 },
    ];
    expect(convexHull(square)).toHaveLength(4);

    // A rotated 10 x 2 rectangle's corners.
    const angle = 0.3;
    const corners = [
      [-5, -1],
      [5, -1],
      [5, 1],
      [-5, 1],
    ].map(([u, v]) => ({
      x: 20 + (u as number) * Math.cos(angle) - (v as number) * Math.sin(angle),
      y: 20 + (u as number) * Math.sin(angle) + (v as number) * Math.cos(angle),
    }));
    const rect = minAreaRect(corners);
    expect(rect.width).toBeCloseTo(10);
    expect(rect.height).toBeCloseTo(2);
    expect(rect.angleRad).toBeCloseTo(0.3);
    expect(rect.center.x).toBeCloseTo(20);
  });
});

describe('DB box extraction', () => {
  it('finds one box per text kernel, grown by the unclip distance, top-left first', () => {
    const map = mapWith(200, 100, [
      { cx: 60, cy: 30, w: 80, h: 10 },
      { cx: 100, cy: 70, w: 120, h: 12 },
    ]);
    const boxes = extractTextBoxes(map, identity(200, 100), { unclipRatio: 1.5 });
    expect(boxes).toHaveLength(2);

    const first = boxes.find((b) => b.corners[0].y < 50);
    expect(first).toBeDefined();
    // Kernel 81 x 11 pixel centres span 80 x 10; d = 80 * 10 * 1.5 / 180 = 6.67.
    const [tl, tr, br] = first?.corners ?? [];
    expect((tr?.x ?? 0) - (tl?.x ?? 0)).toBeCloseTo(80 + 2 * 6.667, 0);
    expect((br?.y ?? 0) - (tr?.y ?? 0)).toBeCloseTo(10 + 2 * 6.667, 0);
    expect(tl?.x).toBeCloseTo(20 - 6.667, 0);
    expect(first?.score).toBeCloseTo(0.9, 1);
  });

  it('follows a rotated kernel', () => {
    const map = mapWith(200, 200, [{ cx: 100, cy: 100, w: 120, h: 14, angleRad: 0.2 }]);
    const [box] = extractTextBoxes(map, identity(200, 200));
    expect(box?.rect.angleRad).toBeCloseTo(0.2, 1);
    expect(box && box.corners[1].y > box.corners[0].y).toBe(true);
  });

  it('drops faint regions, specks, and scales boxes into the image, clipped to it', () => {
    const map = mapWith(100, 100, [
      { cx: 50, cy: 20, w: 60, h: 10, value: 0.45 }, // above threshold, below box threshold
      { cx: 50, cy: 50, w: 2, h: 2 }, // a speck
      { cx: 50, cy: 85, w: 96, h: 10 },
    ]);
    const boxes = extractTextBoxes(map, {
      scaleX: 2,
      scaleY: 2,
      bounds: { width: 200, height: 200 },
    });
    expect(boxes).toHaveLength(1);
    const xs = boxes[0]?.corners.map((p) => p.x) ?? [];
    expect(Math.min(...xs)).toBe(0);
    expect(Math.max(...xs)).toBe(200);
  });

  it('finds nothing in an empty map', () => {
    expect(extractTextBoxes(mapWith(64, 64, []), identity(64, 64))).toEqual([]);
  });
});

describe('CTC decoding', () => {
  const charset = characterSetOf('a\nb\nc\n');
  // Classes: 0 blank, 1 a, 2 b, 3 c, 4 space.
  const steps = (rows: number[][]) => Float32Array.from(rows.flat());
  const onehot = (c: number, p = 0.9) =>
    Array.from({ length: 5 }, (_, i) => (i === c ? p : (1 - p) / 4));

  it('builds the class list with the blank first and the space last', () => {
    expect(charset.characters).toEqual(['', 'a', 'b', 'c', ' ']);
    expect(characterSetOf('x\r\ny').characters).toEqual(['', 'x', 'y', ' ']);
  });

  it('collapses repeats, drops blanks and keeps repeats a blank separates', () => {
    const probabilities = steps([
      onehot(1),
      onehot(1),
      onehot(0),
      onehot(1),
      onehot(2),
      onehot(4),
      onehot(3),
    ]);
    const decoded = decodeCtcGreedy(probabilities, 7, 5, charset);
    expect(decoded.text).toBe('aab c');
    expect(decoded.charConfidences).toHaveLength(5);
    expect(decoded.confidence).toBeCloseTo(0.9);
  });

  it('decodes a near-miss space between characters when asked to', () => {
    const gap = [0.6, 0.05, 0.05, 0.05, 0.25];
    const probabilities = steps([onehot(1), gap, onehot(2)]);
    expect(decodeCtcGreedy(probabilities, 3, 5, charset).text).toBe('ab');
    expect(decodeCtcGreedy(probabilities, 3, 5, charset, { spaceThreshold: 0.2 }).text).toBe('a b');
    expect(decodeCtcGreedy(probabilities, 3, 5, charset, { spaceThreshold: 0.3 }).text).toBe('ab');
  });

  it('answers an empty line with confidence 0, and refuses a dictionary of the wrong size', () => {
    expect(decodeCtcGreedy(steps([onehot(0)]), 1, 5, charset)).toMatchObject({
      text: '',
      confidence: 0,
    });
    expect(() => decodeCtcGreedy(new Float32Array(6), 1, 6, charset)).toThrow(/do not belong/);
  });
});

describe('recognizer input', () => {
  it('picks the smallest width bucket that holds a line', () => {
    expect(widthBucket(1)).toBe(WIDTH_BUCKETS[0]);
    expect(widthBucket(129)).toBe(192);
    expect(widthBucket(100_000)).toBe(WIDTH_BUCKETS.at(-1));
  });

  it('stacks lines left-aligned, normalised to [-1, 1], padded with zeros', () => {
    const line = (width: number, value: number): RgbImage => ({
      data: Buffer.alloc(width * 2 * 3, value),
      width,
      height: 2,
    });
    const batch = recognizerBatch([line(2, 255), line(1, 0)], 4);
    expect(batch.length).toBe(2 * 3 * 2 * 4);
    expect([...batch.subarray(0, 4)]).toEqual([1, 1, 0, 0]);
    expect([...batch.subarray(24, 28)]).toEqual([-1, 0, 0, 0]);
    expect(() => recognizerBatch([line(5, 0)], 4)).toThrow(RangeError);
  });
});

describe('line crops and reading order', () => {
  it('cuts an axis-aligned box out exactly', () => {
    const width = 10;
    const data = Buffer.alloc(width * 10 * 3);
    for (let i = 0; i < width * 10; i++) data.fill(i % width === 5 ? 200 : 10, i * 3, i * 3 + 3);
    const crop = cropLine({ data, width, height: 10 }, [
      { x: 4, y: 2 },
      { x: 7, y: 2 },
      { x: 7, y: 4 },
      { x: 4, y: 4 },
    ]);
    expect([crop.width, crop.height]).toEqual([3, 2]);
    expect([...crop.data.subarray(0, 9)]).toEqual([10, 10, 10, 200, 200, 200, 10, 10, 10]);
  });

  it('turns a line half a turn in place', () => {
    const line: RgbImage = { data: Buffer.from([1, 1, 1, 2, 2, 2, 3, 3, 3]), width: 3, height: 1 };
    halfTurn(line);
    expect([...line.data]).toEqual([3, 3, 3, 2, 2, 2, 1, 1, 1]);
  });

  it('turns a tall box a quarter, as vertical text', () => {
    const image: RgbImage = { data: Buffer.alloc(100 * 3, 255), width: 10, height: 10 };
    const crop = cropLine(image, [
      { x: 4, y: 0 },
      { x: 6, y: 0 },
      { x: 6, y: 9 },
      { x: 4, y: 9 },
    ]);
    expect([crop.width, crop.height]).toEqual([9, 2]);
  });

  it('orders boxes into rows top to bottom, left to right within a row', () => {
    const box = (x: number, y: number, w = 40, h = 10) => ({
      id: `${x},${y}`,
      corners: [
        { x, y },
        { x: x + w, y },
        { x: x + w, y: y + h },
        { x, y: y + h },
      ] as [Point, Point, Point, Point],
    });
    const rows = readingOrder([box(300, 52), box(10, 50), box(10, 10), box(300, 8), box(150, 11)]);
    expect(rows.map((row) => row.map((b) => b.id))).toEqual([
      ['10,10', '150,11', '300,8'],
      ['10,50', '300,52'],
    ]);
  });
});
