import sharp from 'sharp';
import { readImageHeader } from '../../core/spec/image-header.ts';
import { MAX_IMAGE_PIXELS, sizeProblem } from '../../core/spec/image-input.ts';

/**
 * Why bytes could not become pixels, with the codes `ocr.extract` uses too; every attempt would
 * repeat it, so the job fails at once.
 */
export type ImageErrorCode = 'image_empty' | 'image_unreadable' | 'image_too_large';

/** An image that cannot be decoded; `code` says why. */
export class ImageDecodeError extends Error {
  readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageDecodeError';
    this.code = code;
  }
}

/**
 * Decodes PNG, JPEG or WebP bytes into a planar RGB float tensor of `size` x `size` values in
 * [0, 1] (channel, row, column): EXIF orientation applied, alpha flattened onto white, the
 * image cover-resized and centre-cropped. The header is read before any pixel, so an image
 * over `maxPixels` is refused without decoding it. Throws `ImageDecodeError` only.
 */
export async function decodeImageTensor(
  bytes: Uint8Array,
  size: number,
  options: { maxPixels?: number } = {},
): Promise<Float32Array> {
  const maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  if (bytes.byteLength === 0) throw new ImageDecodeError('image_empty', 'The image has no bytes.');

  // The header: format and size, without decoding anything.
  const header = readImageHeader(bytes);
  if (!header) {
    throw new ImageDecodeError('image_unreadable', 'The bytes are not a PNG, JPEG or WebP image.');
  }
  const problem = sizeProblem(header);
  if (problem !== undefined || (header.width ?? 1) * (header.height ?? 1) > maxPixels) {
    const code = header.width === 0 || header.height === 0 ? 'image_empty' : 'image_too_large';
    const detail = problem ?? `it is over the limit of ${maxPixels} pixels (width times height)`;
    throw new ImageDecodeError(code, `The image cannot be read: ${detail}.`);
  }

  // The pixels: failOn 'truncated' refuses a file that ends early instead of padding it.
  let raw: Buffer;
  try {
    raw = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .raw()
      .toBuffer();
  } catch (error) {
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new ImageDecodeError(
        'image_too_large',
        `The image is over the limit of ${maxPixels} pixels (width times height).`,
        { cause: error },
      );
    }
    throw new ImageDecodeError(
      'image_unreadable',
      `The ${header.format.toUpperCase()} image is damaged or cut short: ${message}`,
      { cause: error },
    );
  }
  if (raw.byteLength !== size * size * 3) {
    throw new ImageDecodeError('image_unreadable', 'The image decoded to an unexpected size.');
  }

  // Interleaved RGB bytes to planar floats.
  const plane = size * size;
  const tensor = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    tensor[i] = (raw[i * 3] as number) / 255;
    tensor[plane + i] = (raw[i * 3 + 1] as number) / 255;
    tensor[2 * plane + i] = (raw[i * 3 + 2] as number) / 255;
  }
  return tensor;
}
