import sharp from 'sharp';
import { readImageHeader } from '../../core/spec/image-header.ts';
import { MAX_IMAGE_PIXELS, sizeProblem } from '../../core/spec/image-input.ts';

/** An image decoded to 8-bit RGB, row-major, three bytes per pixel. */
export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

/** The stable codes of an image that cannot be read; every attempt would fail the same way. */
export type ImageProblemCode = 'image_empty' | 'image_unreadable' | 'image_too_large';

/** An input image a handler cannot read, with the stable code its job fails with. */
export class ImageInputError extends Error {
  readonly code: ImageProblemCode;

  constructor(code: ImageProblemCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageInputError';
    this.code = code;
  }
}

/**
 * Decodes a PNG, JPEG or WebP file to RGB with sharp: EXIF orientation applied, transparency
 * flattened onto white, and with `coverSize` cover-resized and centre-cropped to a square of
 * that side. Refuses (as `ImageInputError`) zero bytes, bytes that are not one of those
 * formats, truncated or corrupt files, and images over `maxPixels`, which is checked from the
 * header before any pixel is decoded. Every image handler (OCR, textures, patterns) reads its
 * inputs here, so they fail alike with the same codes.
 */
export async function decodeImage(
  bytes: Uint8Array,
  maxPixels: number = MAX_IMAGE_PIXELS,
  options: { coverSize?: number } = {},
): Promise<RgbImage> {
  if (bytes.length === 0) throw new ImageInputError('image_empty', 'The image is empty (0 bytes).');

  const header = readImageHeader(bytes);
  if (!header) {
    throw new ImageInputError('image_unreadable', 'The bytes are not a PNG, JPEG or WebP image.');
  }
  const problem = sizeProblem(header);
  if (problem !== undefined || (header.width ?? 1) * (header.height ?? 1) > maxPixels) {
    const code = header.width === 0 || header.height === 0 ? 'image_empty' : 'image_too_large';
    const detail = problem ?? `it is over the limit of ${maxPixels} pixels (width times height)`;
    throw new ImageInputError(code, `The image cannot be read: ${detail}.`);
  }

  // failOn 'truncated' refuses a file that ends early instead of padding it.
  try {
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb');
    if (options.coverSize !== undefined) {
      const side = options.coverSize;
      pipeline = pipeline.resize(side, side, { fit: 'cover', position: 'centre' });
    }
    const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (error) {
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new ImageInputError(
        'image_too_large',
        `The image is over the limit of ${maxPixels} pixels (width times height).`,
        { cause: error },
      );
    }
    throw new ImageInputError(
      'image_unreadable',
      `The ${header.format.toUpperCase()} image cannot be decoded: ${message}`,
      { cause: error },
    );
  }
}
