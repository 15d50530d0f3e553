import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageHeader } from '../core/spec/image-header.ts';
import { inlineImageProblem, MAX_IMAGE_PIXELS } from '../core/spec/image-input.ts';
import { ocrExtractPayload, specExtractPayload } from '../core/spec/job-payloads.ts';
import { decodeImage, ImageInputError } from '../gpu-pool/images/decode-image.ts';
import { hugePng } from '../scripts/eval/bad-images.ts';

const base = () => sharp({ create: { width: 64, height: 40, channels: 3, background: '#fff' } });

describe('readImageHeader', () => {
  it('reads the format and size of PNG, JPEG and WebP (lossy and lossless)', async () => {
    const png = await base().png().toBuffer();
    const jpeg = await base().jpeg().toBuffer();
    const webp = await base().webp().toBuffer();
    const lossless = await base().webp({ lossless: true }).toBuffer();

    for (const [bytes, format] of [
      [png, 'png'],
      [jpeg, 'jpeg'],
      [webp, 'webp'],
      [lossless, 'webp'],
    ] as const) {
      expect(readImageHeader(bytes)).toEqual({ format, width: 64, height: 40 });
    }
  });

  it('refuses bytes that are no image it knows', () => {
    expect(readImageHeader(new TextEncoder().encode('GIF89a......'))).toBeUndefined();
    expect(readImageHeader(new Uint8Array())).toBeUndefined();
  });
});

describe('inline images at submission', () => {
  it('accepts a small PNG', async () => {
    const png = await base().png().toBuffer();
    expect(inlineImageProblem(png.toString('base64'))).toBeUndefined();
    expect(ocrExtractPayload.safeParse({ imageBase64: png.toString('base64') }).success).toBe(true);
  });

  it('refuses empty, non-base64, non-image and oversized-by-header inputs with a reason', () => {
    expect(inlineImageProblem('')).toMatch(/empty/);
    expect(inlineImageProblem('not base64!')).toMatch(/base64/);
    expect(inlineImageProblem(Buffer.from('plain text, no image').toString('base64'))).toMatch(
      /not a PNG, JPEG or WebP/,
    );
    expect(inlineImageProblem(hugePng(30_000, 30_000).toString('base64'))).toMatch(
      /30000x30000 pixels; at most 40000000/,
    );
  });

  it('spec.extract takes exactly one of text and imageBase64', () => {
    expect(specExtractPayload.safeParse({ text: 'Size: 600 x 600 mm' }).success).toBe(true);
    expect(specExtractPayload.safeParse({}).success).toBe(false);
    expect(specExtractPayload.safeParse({ text: 'a', imageBase64: 'AAAA' }).success).toBe(false);
  });
});

describe('decodeImage', () => {
  it('decodes to RGB, flattening transparency onto white', async () => {
    const rgba = await sharp({
      create: { width: 3, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const image = await decodeImage(rgba);
    expect([image.width, image.height, image.data.length]).toEqual([3, 2, 18]);
    expect([...image.data.subarray(0, 3)]).toEqual([255, 255, 255]);
  });

  const failure = async (bytes: Uint8Array, maxPixels?: number) => {
    const error = await decodeImage(bytes, maxPixels).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageInputError);
    return error as ImageInputError;
  };

  it('fails each kind of bad input with its stable code', async () => {
    const png = await base().png().toBuffer();
    const jpeg = await base().jpeg().toBuffer();

    expect((await failure(new Uint8Array())).code).toBe('image_empty');
    expect((await failure(Buffer.from('%PDF-1.7 not an image'))).code).toBe('image_unreadable');
    expect((await failure(png.subarray(0, png.length - 20))).code).toBe('image_unreadable');
    expect((await failure(jpeg.subarray(0, Math.floor(jpeg.length / 2)))).code).toBe(
      'image_unreadable',
    );
    expect((await failure(hugePng(30_000, 30_000))).code).toBe('image_too_large');
  });

  it('leaves the pixel limit to sharp when the header passes the pre-check', async () => {
    const png = await base().png().toBuffer();
    const error = await failure(png, 100);
    expect(error.code).toBe('image_too_large');
    expect(MAX_IMAGE_PIXELS).toBeGreaterThan(100);
  });
});
