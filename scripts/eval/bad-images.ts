import { crc32, deflateSync } from 'node:zlib';

const cache = new Map<string, Buffer>();

/**
 * A complete, valid PNG of `width` x `height` black pixels, 1 bit per
 * pixel greyscale, so even 30000 x 30000 (900 megapixels) is about 110 kB of file: the shape
 * of a decompression bomb, for checking that Kai refuses it before decoding. Cached per size.
 */
export function hugePng(width: number, height: number): Buffer {
  const key = `${width}x${height}`;
  const cached = cache.get(key);
  if (cached) return cached;

  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, no filter, no interlace

  // Every row is its filter byte (0) and width/8 bytes of zeros: all zeros, which deflates well.
  const rowBytes = 1 + Math.ceil(width / 8);
  const pixels = deflateSync(Buffer.alloc(rowBytes * height), { level: 9 });

  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  cache.set(key, png);
  return png;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed) >>> 0);
  return Buffer.concat([length, typed, crc]);
}
