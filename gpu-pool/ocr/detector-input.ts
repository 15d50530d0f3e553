import sharp from 'sharp';
import type { RgbImage } from '../images/decode-image.ts';

/** How the detector's input is shaped; the defaults are those the manifest states. */
export interface DetectorInputOptions {
  /** The longer side is scaled down to at most this; smaller images keep their size. */
  maxSideLen?: number;
  /** Both sides are rounded to a multiple of this (the network's stride). */
  multipleOf?: number;
  /** Per-channel mean and deviation in the network's (BGR) order, on values scaled to 0-1. */
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}

/** One image ready for the detector: a CHW float32 plane set and how to map back. */
export interface DetectorInput {
  /** 3 * height * width values, channel-major, in BGR order. */
  data: Float32Array;
  width: number;
  height: number;
  /** Multiply a map x by this to get an x in the original image; likewise y. */
  scaleX: number;
  scaleY: number;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** The detector's input size for an image: scaled to `maxSideLen`, rounded to `multipleOf`. */
export function detectorSize(
  width: number,
  height: number,
  maxSideLen = 960,
  multipleOf = 32,
): { width: number; height: number } {
  const ratio = Math.min(1, maxSideLen / Math.max(width, height));
  const round = (side: number) => Math.max(multipleOf, Math.round(side / multipleOf) * multipleOf);
  return { width: round(width * ratio), height: round(height * ratio) };
}

/**
 * Resizes `image` to its detector size with sharp and normalises it as PaddleOCR's detector
 * was trained: BGR planes, each value (v / 255 - mean) / std with ImageNet statistics.
 */
export async function detectorInput(
  image: RgbImage,
  options: DetectorInputOptions = {},
): Promise<DetectorInput> {
  const size = detectorSize(image.width, image.height, options.maxSideLen, options.multipleOf);
  const resized = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .resize(size.width, size.height, { fit: 'fill' })
    .raw()
    .toBuffer();

  return {
    data: normalisePlanes(resized, size.width, size.height, {
      mean: options.mean ?? IMAGENET_MEAN,
      std: options.std ?? IMAGENET_STD,
    }),
    width: size.width,
    height: size.height,
    scaleX: image.width / size.width,
    scaleY: image.height / size.height,
  };
}

/**
 * Interleaved RGB bytes to BGR planes, each value (v / 255 - mean[c]) / std[c], where c counts
 * the planes in BGR order.
 */
export function normalisePlanes(
  rgb: Uint8Array,
  width: number,
  height: number,
  stats: { mean: readonly number[]; std: readonly number[] },
): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const source = 2 - c;
    const mean = stats.mean[c] ?? 0;
    const scale = 1 / (255 * (stats.std[c] ?? 1));
    const shift = mean / (stats.std[c] ?? 1);
    for (let i = 0; i < plane; i++) out[c * plane + i] = (rgb[i * 3 + source] ?? 0) * scale - shift;
  }
  return out;
}
