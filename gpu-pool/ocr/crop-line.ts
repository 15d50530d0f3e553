import sharp from 'sharp';
import type { RgbImage } from '../images/decode-image.ts';
import type { Point } from './geometry.ts';

/**
 * The text line inside `corners` (top-left, top-right, bottom-right, bottom-left), cut out and
 * turned upright by bilinear sampling along the box's sides. A box at least 1.5 times as tall
 * as wide is taken as vertical text and turned a quarter counter-clockwise, as PaddleOCR does.
 */
export function cropLine(
  image: RgbImage,
  corners: readonly [Point, Point, Point, Point],
): RgbImage {
  let [origin, across, down] = [corners[0], corners[1], corners[3]];
  let width = Math.max(1, Math.round(distance(corners[0], corners[1])));
  let height = Math.max(1, Math.round(distance(corners[0], corners[3])));
  if (height / width >= 1.5) {
    [origin, across, down] = [corners[1], corners[2], corners[0]];
    [width, height] = [height, width];
  }

  const ux = (across.x - origin.x) / width;
  const uy = (across.y - origin.y) / width;
  const vx = (down.x - origin.x) / height;
  const vy = (down.y - origin.y) / height;
  const out = Buffer.alloc(width * height * 3);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const x = origin.x + (col + 0.5) * ux + (row + 0.5) * vx - 0.5;
      const y = origin.y + (col + 0.5) * uy + (row + 0.5) * vy - 0.5;
      sampleBilinear(image, x, y, out, (row * width + col) * 3);
    }
  }
  return { data: out, width, height };
}

/** The line scaled with sharp to `height` and the width its aspect ratio gives, capped. */
export async function scaleLine(
  line: RgbImage,
  height: number,
  maxWidth: number,
): Promise<RgbImage> {
  const width = Math.min(maxWidth, Math.max(1, Math.ceil((height * line.width) / line.height)));
  const data = await sharp(line.data, {
    raw: { width: line.width, height: line.height, channels: 3 },
  })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, width, height };
}

function sampleBilinear(image: RgbImage, x: number, y: number, out: Buffer, at: number): void {
  const { data, width, height } = image;
  const cx = Math.min(width - 1, Math.max(0, x));
  const cy = Math.min(height - 1, Math.max(0, y));
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(width - 1, x0 + 1);
  const y1 = Math.min(height - 1, y0 + 1);
  const fx = cx - x0;
  const fy = cy - y0;
  for (let c = 0; c < 3; c++) {
    const p00 = data[(y0 * width + x0) * 3 + c] ?? 0;
    const p01 = data[(y0 * width + x1) * 3 + c] ?? 0;
    const p10 = data[(y1 * width + x0) * 3 + c] ?? 0;
    const p11 = data[(y1 * width + x1) * 3 + c] ?? 0;
    const top = p00 + (p01 - p00) * fx;
    const bottom = p10 + (p11 - p10) * fx;
    out[at + c] = Math.round(top + (bottom - top) * fy);
  }
}

function distance(a: Point, b: Point): number {
  return Math.hypot(b.x - a.x, b.y - a.y);
}
