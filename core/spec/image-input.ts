import { z } from 'zod';
import { type ImageHeader, readImageHeader } from './image-header.ts';

/**
 * The largest image Kai decodes for OCR, in pixels (width times height); sharp refuses larger
 * ones before decoding, so a small file that claims a huge size cannot exhaust memory.
 */
export const MAX_IMAGE_PIXELS = 40_000_000;

/** The largest encoded image a payload may carry inline, in bytes (before base64). */
export const MAX_INLINE_IMAGE_BYTES = 180 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Why an inline image is refused at submission, or undefined when it may be queued. */
export function inlineImageProblem(base64: string): string | undefined {
  if (base64.length === 0) return 'the image is empty (zero bytes)';
  if (base64.length % 4 !== 0 || !BASE64.test(base64)) {
    return 'expects standard base64 (A-Z, a-z, 0-9, +, /, = padding), without a data: prefix';
  }

  const bytes = decodeBase64(base64);
  if (bytes.length > MAX_INLINE_IMAGE_BYTES) {
    return `the image is ${bytes.length} bytes; at most ${MAX_INLINE_IMAGE_BYTES} are accepted inline`;
  }
  const header = readImageHeader(bytes);
  if (!header) return 'the bytes are not a PNG, JPEG or WebP image';
  return sizeProblem(header);
}

/** The bytes of standard base64 text; `atob` keeps this runtime-free (Node, Deno, browsers). */
export function decodeBase64(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Why an image of this header is too large or degenerate, or undefined when it may be read. */
export function sizeProblem(header: ImageHeader): string | undefined {
  const { width, height } = header;
  if (width === undefined || height === undefined) return undefined;
  if (width === 0 || height === 0) return `the image is ${width}x${height} pixels, which is empty`;
  if (width * height > MAX_IMAGE_PIXELS) {
    return (
      `the image is ${width}x${height} pixels; at most ${MAX_IMAGE_PIXELS} pixels ` +
      '(width times height) are decoded'
    );
  }
  return undefined;
}

/**
 * An inline image as job payloads carry it: base64 of a PNG, JPEG or WebP file. Refused at
 * submission when it is empty, not base64, over `MAX_INLINE_IMAGE_BYTES`, not one of those
 * formats, or when its header gives more than `MAX_IMAGE_PIXELS`.
 */
export const inlineImageSchema = z.string().superRefine((value, context) => {
  const problem = inlineImageProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});
