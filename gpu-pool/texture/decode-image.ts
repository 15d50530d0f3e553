import { decodeImage } from '../images/decode-image.ts';

/**
 * Decodes PNG, JPEG or WebP bytes into a planar RGB float tensor of `size` x `size` values in
 * [0, 1] (channel, row, column): EXIF orientation applied, alpha flattened onto white, the
 * image cover-resized and centre-cropped. An image over `maxPixels` is refused from its header,
 * without decoding it. Throws `ImageInputError` only, with the codes `ocr.extract` uses too.
 */
export async function decodeImageTensor(
  bytes: Uint8Array,
  size: number,
  options: { maxPixels?: number } = {},
): Promise<Float32Array> {
  const { data } = await decodeImage(bytes, options.maxPixels, { coverSize: size });

  // Interleaved RGB bytes to planar floats.
  const plane = size * size;
  const tensor = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    tensor[i] = (data[i * 3] as number) / 255;
    tensor[plane + i] = (data[i * 3 + 1] as number) / 255;
    tensor[2 * plane + i] = (data[i * 3 + 2] as number) / 255;
  }
  return tensor;
}
