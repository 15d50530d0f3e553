// The procedural texture set for texture retrieval: six material families rendered from raw
// pixel buffers with sharp, each image with its own scale, rotation, colour, noise and seed, so
// that retrieval by family is measured on variations the texture net has never been tuned on
// when a fresh `seed` is used.
import sharp from 'sharp';
import { mulberry32 } from '../../core/random/mulberry32.ts';
import { fbm, valueNoise } from './textures-noise.ts';

/** The families of the set, each a kind of surface Kai's users photograph. */
export const TEXTURE_FAMILIES = [
  'wood-grain',
  'marble-veins',
  'ceramic-tiles',
  'granite-speckle',
  'woven-fabric',
  'brushed-metal',
] as const;

/** One family name of the set. */
export type TextureFamily = (typeof TEXTURE_FAMILIES)[number];

type Rgb = [number, number, number];

/** What one rendered image varies: drawn per image from the set's seed. */
export interface TextureVariation {
  family: TextureFamily;
  seed: number;
  /** Radians the pattern is turned by. */
  rotationRad: number;
  /** Multiplies every length of the pattern. */
  scale: number;
  /** Standard deviation of the per-pixel noise added, in [0, 1] units. */
  noise: number;
  /** A number in [0, 1) that picks the colours within the family's range. */
  colour: number;
  /** Radians the hue is turned by after painting (the "any colour" set); 0 keeps it. */
  hueShiftRad: number;
  /** Multiplies the brightness after painting; 1 keeps it. */
  gain: number;
}

/** One image of the set: its encoded bytes and what it shows. */
export interface TextureSample {
  family: TextureFamily;
  variation: TextureVariation;
  format: 'png' | 'jpeg' | 'webp';
  bytes: Buffer;
}

/** How a family colours a point, given its local (rotated, scaled) coordinates. */
type Painter = (u: number, v: number) => Rgb;

/** Renders one variation to interleaved RGB bytes, `sizePx` square. */
export function renderTexture(variation: TextureVariation, sizePx: number): Uint8Array {
  const painter = PAINTERS[variation.family](variation);
  const random = mulberry32(variation.seed ^ 0x5eed);
  const cos = Math.cos(variation.rotationRad);
  const sin = Math.sin(variation.rotationRad);
  const rgb = new Uint8Array(sizePx * sizePx * 3);

  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      // Rotate about the centre, then scale, so every variation is centred alike.
      const cx = x - sizePx / 2;
      const cy = y - sizePx / 2;
      const u = (cx * cos + cy * sin) / variation.scale;
      const v = (-cx * sin + cy * cos) / variation.scale;
      const colour = recolour(painter(u, v), variation.hueShiftRad, variation.gain);
      const grain = gaussian(random) * variation.noise;
      for (let c = 0; c < 3; c++) {
        const value = (colour[c] as number) + grain;
        rgb[(y * sizePx + x) * 3 + c] = Math.round(Math.min(1, Math.max(0, value)) * 255);
      }
    }
  }
  return rgb;
}

/**
 * Renders `perFamily` images of every family, their variations drawn from `seed`, encoded as
 * PNG, JPEG or WebP in turn so decoding is part of what is measured.
 */
export async function generateTextureSet(options: {
  perFamily: number;
  seed: number;
  sizePx?: number;
  /**
   * `family`: each family keeps its own colour range, as real materials do. `any`: every
   * image's hue is also turned at random and its brightness scaled, so colour says nothing
   * of the family and only texture can. @default 'family'
   */
  colours?: 'family' | 'any';
}): Promise<TextureSample[]> {
  const anyColour = options.colours === 'any';
  const sizePx = options.sizePx ?? 160;
  const random = mulberry32(options.seed);
  const formats = ['png', 'jpeg', 'webp'] as const;
  const samples: TextureSample[] = [];

  for (const family of TEXTURE_FAMILIES) {
    for (let i = 0; i < options.perFamily; i++) {
      const variation: TextureVariation = {
        family,
        seed: Math.floor(random() * 2 ** 31),
        rotationRad: random() * Math.PI,
        scale: 0.75 + random() * 0.6,
        noise: random() * 0.05,
        colour: random(),
        hueShiftRad: anyColour ? random() * 2 * Math.PI : 0,
        gain: anyColour ? 0.6 + random() * 0.7 : 1,
      };
      const format = formats[samples.length % formats.length] as TextureSample['format'];
      const raw = renderTexture(variation, sizePx);
      const image = sharp(raw, { raw: { width: sizePx, height: sizePx, channels: 3 } });
      const encoded =
        format === 'png'
          ? image.png()
          : format === 'jpeg'
            ? image.jpeg({ quality: 90 })
            : image.webp({ quality: 90 });
      samples.push({ family, variation, format, bytes: await encoded.toBuffer() });
    }
  }
  return samples;
}

const PAINTERS: Record<TextureFamily, (v: TextureVariation) => Painter> = {
  'wood-grain': (variation) => {
    const warp = fbm(variation.seed, 4);
    const streaks = valueNoise(variation.seed + 7);
    const periodPx = 9 + variation.colour * 5;
    const light = mix([0.78, 0.58, 0.38], [0.62, 0.4, 0.24], variation.colour);
    const dark = scale(light, 0.62);
    return (u, v) => {
      const phase = v / periodPx + 1.6 * warp(u / 90, v / 30);
      const ring = (Math.sin(2 * Math.PI * phase) + 1) / 2;
      const fine = 0.08 * streaks(u / 25, v * 0.9);
      return add(mix(light, dark, ring ** 2.2), fine);
    };
  },

  'marble-veins': (variation) => {
    const turbulence = fbm(variation.seed, 5);
    const cloud = fbm(variation.seed + 3, 3);
    const palettes: [Rgb, Rgb][] = [
      [
        [0.93, 0.92, 0.9],
        [0.45, 0.45, 0.48],
      ],
      [
        [0.12, 0.12, 0.13],
        [0.85, 0.83, 0.8],
      ],
      [
        [0.3, 0.45, 0.35],
        [0.9, 0.92, 0.88],
      ],
      [
        [0.88, 0.8, 0.7],
        [0.5, 0.35, 0.25],
      ],
    ];
    const [base, vein] = palettes[Math.floor(variation.colour * palettes.length)] as [Rgb, Rgb];
    return (u, v) => {
      const t = Math.abs(Math.sin((u + 0.4 * v) / 40 + 5 * turbulence(u / 70, v / 70)));
      const strength = (1 - t) ** 6;
      return add(mix(base, vein, strength), 0.04 * cloud(u / 40, v / 40));
    };
  },

  'ceramic-tiles': (variation) => {
    const tilePx = 22 + variation.colour * 12;
    const groutPx = 2.5;
    const hue = variation.colour * 6;
    const tile = hsv(hue, 0.45, 0.8);
    const grout: Rgb = [0.55, 0.55, 0.53];
    const checker = variation.seed % 2 === 0;
    const jitter = valueNoise(variation.seed);
    return (u, v) => {
      const i = Math.floor(u / tilePx);
      const j = Math.floor(v / tilePx);
      const du = u - i * tilePx;
      const dv = v - j * tilePx;
      if (du < groutPx || dv < groutPx) return grout;
      const shade = 1 + 0.06 * jitter(i * 3.7, j * 3.7);
      const base = checker && (i + j) % 2 === 0 ? scale(tile, 0.55) : tile;
      return scale(base, shade);
    };
  },

  'granite-speckle': (variation) => {
    const grains = valueNoise(variation.seed);
    const minerals = valueNoise(variation.seed + 11);
    const palettes: Rgb[][] = [
      [
        [0.1, 0.1, 0.1],
        [0.6, 0.6, 0.6],
        [0.85, 0.85, 0.82],
        [0.75, 0.55, 0.5],
      ],
      [
        [0.15, 0.12, 0.1],
        [0.7, 0.45, 0.4],
        [0.9, 0.8, 0.75],
        [0.4, 0.4, 0.42],
      ],
      [
        [0.05, 0.05, 0.08],
        [0.25, 0.25, 0.3],
        [0.5, 0.5, 0.55],
        [0.8, 0.8, 0.85],
      ],
    ];
    const palette = palettes[Math.floor(variation.colour * palettes.length)] as Rgb[];
    return (u, v) => {
      const g = grains(u / 2.2, v / 2.2) * 0.7 + minerals(u / 6, v / 6) * 0.3;
      const index = Math.min(3, Math.max(0, Math.floor((g + 1) * 2)));
      return palette[index] as Rgb;
    };
  },

  'woven-fabric': (variation) => {
    const threadPx = 5 + variation.colour * 3;
    const colour = hsv(variation.colour * 6, 0.55, 0.75);
    const weft = scale(colour, 0.8);
    const slub = valueNoise(variation.seed);
    return (u, v) => {
      const i = Math.floor(u / threadPx);
      const j = Math.floor(v / threadPx);
      const over = (i + j) % 2 === 0;
      const across = over ? u / threadPx - i : v / threadPx - j;
      const profile = Math.sin(Math.PI * across) ** 0.7;
      const base = over ? colour : weft;
      return scale(base, 0.55 + 0.45 * profile + 0.05 * slub(i, j));
    };
  },

  'brushed-metal': (variation) => {
    const lines = fbm(variation.seed, 3);
    const sheen = valueNoise(variation.seed + 5);
    const tints: Rgb[] = [
      [0.72, 0.73, 0.75],
      [0.78, 0.68, 0.45],
      [0.72, 0.5, 0.38],
      [0.45, 0.46, 0.48],
    ];
    const tint = tints[Math.floor(variation.colour * tints.length)] as Rgb;
    return (u, v) => {
      const brush = lines(u / 120, v * 0.7);
      return scale(tint, 0.92 + 0.18 * brush + 0.05 * sheen(u / 150, v / 150));
    };
  },
};

/** Turns the hue about the grey axis (Rodrigues' rotation) and scales the brightness. */
function recolour(rgb: Rgb, hueShiftRad: number, gain: number): Rgb {
  if (hueShiftRad === 0 && gain === 1) return rgb;
  const cos = Math.cos(hueShiftRad);
  const sin = Math.sin(hueShiftRad);
  const k = (1 - cos) / 3;
  const s = sin / Math.sqrt(3);
  const [r, g, b] = rgb;
  return [
    gain * (r * (cos + k) + g * (k - s) + b * (k + s)),
    gain * (r * (k + s) + g * (cos + k) + b * (k - s)),
    gain * (r * (k - s) + g * (k + s) + b * (cos + k)),
  ];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function scale(a: Rgb, factor: number): Rgb {
  return [a[0] * factor, a[1] * factor, a[2] * factor];
}

function add(a: Rgb, offset: number): Rgb {
  return [a[0] + offset, a[1] + offset, a[2] + offset];
}

/** Hue in [0, 6), saturation and value in [0, 1]. */
function hsv(hue: number, saturation: number, value: number): Rgb {
  const f = (n: number) => {
    const k = (n + hue) % 6;
    return value - value * saturation * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
