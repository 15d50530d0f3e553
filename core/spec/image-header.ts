/** The image formats Kai's OCR accepts. */
export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** What the first bytes of an image say: its format and, when the header holds them, its size. */
export interface ImageHeader {
  format: ImageFormat;
  /** Undefined when the header is too short or does not give it (checked again on decode). */
  width?: number;
  height?: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads the format and pixel size from an image's header without decoding it, so a submission
 * can be refused before it is queued. Returns undefined for bytes that are not PNG, JPEG or
 * WebP. Pure: no runtime library, so the API and the pool agree.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return pngHeader(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpegHeader(bytes);
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return webpHeader(bytes);
  return undefined;
}

function pngHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return { format: 'png' };
  return { format: 'png', width: uint32be(bytes, 16), height: uint32be(bytes, 20) };
}

function jpegHeader(bytes: Uint8Array): ImageHeader {
  // Walk the marker segments to the first start-of-frame, which holds the size.
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return { format: 'jpeg' };
    const marker = bytes[offset + 1] ?? 0;
    if (marker === 0xff) {
      offset++;
      continue;
    }
    const length = uint16be(bytes, offset + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) {
      return {
        format: 'jpeg',
        height: uint16be(bytes, offset + 5),
        width: uint16be(bytes, offset + 7),
      };
    }
    offset += 2 + length;
  }
  return { format: 'jpeg' };
}

function webpHeader(bytes: Uint8Array): ImageHeader {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8 ' && bytes.length >= 30) {
    return {
      format: 'webp',
      width: uint16le(bytes, 26) & 0x3fff,
      height: uint16le(bytes, 28) & 0x3fff,
    };
  }
  if (chunk === 'VP8L' && bytes.length >= 25) {
    const bits = uint32le(bytes, 21);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X' && bytes.length >= 30) {
    return { format: 'webp', width: uint24le(bytes, 24) + 1, height: uint24le(bytes, 27) + 1 };
  }
  return { format: 'webp' };
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

const at = (bytes: Uint8Array, i: number) => bytes[i] ?? 0;
const uint16be = (b: Uint8Array, i: number) => (at(b, i) << 8) | at(b, i + 1);
const uint16le = (b: Uint8Array, i: number) => at(b, i) | (at(b, i + 1) << 8);
const uint24le = (b: Uint8Array, i: number) => uint16le(b, i) | (at(b, i + 2) << 16);
const uint32be = (b: Uint8Array, i: number) =>
  ((at(b, i) << 24) >>> 0) + (uint16be(b, i + 2) | (at(b, i + 1) << 16));
const uint32le = (b: Uint8Array, i: number) => (uint24le(b, i) | (at(b, i + 3) << 24)) >>> 0;
