import type { RgbImage } from '../images/decode-image.ts';

/** Widths the recognizer's inputs are padded to, so lines of similar length share one run. */
export const WIDTH_BUCKETS = [
  64, 128, 192, 256, 320, 384, 480, 576, 704, 832, 960, 1152, 1344, 1600, 1920, 2304,
] as const;

/** The widest line the recognizer is given; wider lines are squeezed to it. */
export const MAX_LINE_WIDTH = WIDTH_BUCKETS[WIDTH_BUCKETS.length - 1] as number;

/** The bucket a line of `width` pixels is padded to: the smallest that holds it. */
export function widthBucket(width: number): number {
  return WIDTH_BUCKETS.find((bucket) => bucket >= width) ?? MAX_LINE_WIDTH;
}

/**
 * Stacks scaled lines (all of one height, none wider than `bucketWidth`) into one NCHW batch:
 * BGR planes, (v / 255 - 0.5) / 0.5, each line left-aligned and padded with zeros (mid-grey
 * after normalisation), as PaddleOCR's recognizer was trained.
 */
export function recognizerBatch(lines: readonly RgbImage[], bucketWidth: number): Float32Array {
  const height = lines[0]?.height ?? 48;
  const plane = height * bucketWidth;
  const out = new Float32Array(lines.length * 3 * plane);
  lines.forEach((line, n) => {
    if (line.height !== height || line.width > bucketWidth) {
      throw new RangeError(
        `Line ${n} is ${line.width}x${line.height}; the batch is ${bucketWidth}x${height}.`,
      );
    }
    for (let c = 0; c < 3; c++) {
      const base = (n * 3 + c) * plane;
      const source = 2 - c;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < line.width; x++) {
          const v = line.data[(y * line.width + x) * 3 + source] ?? 0;
          out[base + y * bucketWidth + x] = v / 127.5 - 1;
        }
      }
    }
  });
  return out;
}
