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

/** An input image the OCR cannot read, with the stable code its job fails with. */
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
 * flattened onto white. Refuses (as `ImageInputError`) zero bytes, bytes that are not one of
 * those formats, truncated or corrupt files, and images over `maxPixels`, which sharp checks
 * from the header before it decodes anything.
 */
export async function decodeImage(
  bytes: Uint8Array,
  maxPixels: number = MAX_IMAGE_PIXELS,
): Promise<RgbImage> {
  if (bytes.length === 0) throw new ImageInputError('image_empty', 'The image is empty (0 bytes).');

  const header = readImageHeader(bytes);
  if (!header) {
    throw new ImageInputError('image_unreadable', 'The bytes are not a PNG, JPEG or WebP image.');
  }
  const problem = sizeProblem(header);
  if (problem !== undefined) {
    const code = header.width === 0 || header.height === 0 ? 'image_empty' : 'image_too_large';
    throw new ImageInputError(code, `The image cannot be read: ${problem}.`);
  }

  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
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
