import { Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import type { RgbImage } from '../images/decode-image.ts';
import { recognizerBatch } from './recognizer-input.ts';

/** The width PaddleOCR's direction classifier reads; longer lines are squeezed to it. */
export const ORIENTATION_WIDTH = 192;

/** A 180-degree verdict is acted on only above this probability, as PaddleOCR does. */
export const UPSIDE_DOWN_THRESHOLD = 0.9;

/**
 * Asks the direction classifier which of `lines` (scaled to height 48) are upside down, in
 * runs of at most `maxLinesPerRun`, and turns those half a turn in place. Returns how many
 * runs it made and which lines it turned.
 */
export async function uprightLines(
  classify: (input: Tensor) => Promise<Tensor>,
  lines: RgbImage[],
  maxLinesPerRun: number,
): Promise<{ runs: number; turned: boolean[] }> {
  const turned = lines.map(() => false);
  let runs = 0;
  for (let start = 0; start < lines.length; start += maxLinesPerRun) {
    const chunk = lines.slice(start, start + maxLinesPerRun);
    const inputs = await Promise.all(chunk.map((line) => squeezeTo(line, ORIENTATION_WIDTH)));
    const batch = recognizerBatch(inputs, ORIENTATION_WIDTH);
    const output = await classify(
      new Tensor('float32', batch, [chunk.length, 3, inputs[0]?.height ?? 48, ORIENTATION_WIDTH]),
    );
    runs++;

    const probabilities = output.data as Float32Array;
    chunk.forEach((line, n) => {
      if ((probabilities[n * 2 + 1] ?? 0) > UPSIDE_DOWN_THRESHOLD) {
        halfTurn(line);
        turned[start + n] = true;
      }
    });
  }
  return { runs, turned };
}

async function squeezeTo(line: RgbImage, maxWidth: number): Promise<RgbImage> {
  if (line.width <= maxWidth) return line;
  const data = await sharp(line.data, {
    raw: { width: line.width, height: line.height, channels: 3 },
  })
    .resize(maxWidth, line.height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, width: maxWidth, height: line.height };
}

/** Turns an RGB image 180 degrees in place: the pixel order reversed. */
export function halfTurn(image: RgbImage): void {
  const { data } = image;
  const pixels = image.width * image.height;
  for (let a = 0, b = pixels - 1; a < b; a++, b--) {
    for (let c = 0; c < 3; c++) {
      const t = data[a * 3 + c] ?? 0;
      data[a * 3 + c] = data[b * 3 + c] ?? 0;
      data[b * 3 + c] = t;
    }
  }
}
