// `node scripts/eval/render-spec-sheets.ts --out <dir> [--count N] [--seed S]`: renders
// synthetic specification sheets (sharp from SVG text) with their ground truth, for the OCR
// benchmark and by hand. Fonts, sizes, layouts, noise, rotation and encoding vary per sheet;
// the same seed renders the same sheets.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { drawSheet, type SheetTruth, seededRandom } from './spec-sheet-truth.ts';

/** Font families installed on this machine (fc-list): DejaVu's sans, serif, mono, condensed. */
export const SHEET_FONTS = [
  'DejaVu Sans',
  'DejaVu Serif',
  'DejaVu Sans Mono',
  'DejaVu Sans Condensed',
] as const;

/** One rendered sheet: the encoded image and what it says. */
export interface RenderedSheet extends SheetTruth {
  image: Buffer;
  format: 'png' | 'jpeg' | 'webp';
  font: string;
  fontSizePx: number;
  layout: 'label-colon' | 'two-column';
  rotationDeg: number;
}

const PAGE_WIDTH = 1000;

/**
 * Renders `count` sheets from `seed`. Each picks a font, a size of 20-30 px, a layout (one
 * "label: value" column, or labels and values in two columns), adds light noise (grain, or speckle for PNG), a
 * rotation within ±1.5 degrees, and is encoded as PNG, JPEG (quality 80-90) or WebP.
 */
export async function renderSpecSheets(count: number, seed = 0x5eed): Promise<RenderedSheet[]> {
  const random = seededRandom(seed);
  const sheets: RenderedSheet[] = [];
  for (let i = 0; i < count; i++) {
    const layout = random() < 0.5 ? 'label-colon' : 'two-column';
    const truth = drawSheet(random, layout === 'label-colon' ? ': ' : ' ');
    const font = SHEET_FONTS[Math.floor(random() * SHEET_FONTS.length)] as string;
    const fontSizePx = 20 + Math.floor(random() * 11);
    const rotationDeg = Math.round((random() * 3 - 1.5) * 10) / 10;
    const format = (['png', 'jpeg', 'webp'] as const)[Math.floor(random() * 3)] ?? 'png';

    const svg = sheetSvg(truth, layout, font, fontSizePx);
    const image = await finishImage(svg, random, rotationDeg, format);
    sheets.push({ ...truth, image, format, font, fontSizePx, layout, rotationDeg });
  }
  return sheets;
}

function sheetSvg(
  truth: SheetTruth,
  layout: RenderedSheet['layout'],
  font: string,
  fontSizePx: number,
): string {
  const lineHeight = Math.round(fontSizePx * 1.9);
  const height = 60 + lineHeight * (truth.rows.length + 1);
  const ink = '#1a1a1a';
  const texts = truth.rows.map((row, i) => {
    const y = 50 + lineHeight * (i + 1);
    const weight = i === 0 ? ' font-weight="bold"' : '';
    const split =
      layout === 'two-column' && i > 0 && !row.startsWith('Complies') ? columns(row) : undefined;
    if (!split) return `<text x="40" y="${y}"${weight}>${escapeXml(row)}</text>`;
    return (
      `<text x="40" y="${y}">${escapeXml(split[0])}</text>` +
      `<text x="${Math.round(PAGE_WIDTH * 0.52)}" y="${y}">${escapeXml(split[1])}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PAGE_WIDTH}" height="${height}">` +
    `<rect width="100%" height="100%" fill="#fbfaf7"/>` +
    `<g font-family="${font}" font-size="${fontSizePx}" fill="${ink}">${texts.join('')}</g></svg>`
  );
}

/** "Label value" of a two-column row back into its label and value (the label is known). */
function columns(row: string): [string, string] | undefined {
  const labels = [
    'Material',
    'Size',
    'Thickness',
    'Finish',
    'Colour',
    'Abrasion resistance',
    'Slip resistance (DIN 51130)',
    'DCOF (ANSI A326.3)',
    'Water absorption (ISO 10545-3)',
    'Frost resistance',
  ];
  const label = labels.find((l) => row.startsWith(`${l} `));
  return label ? [label, row.slice(label.length + 1)] : undefined;
}

async function finishImage(
  svg: string,
  random: () => number,
  rotationDeg: number,
  format: RenderedSheet['format'],
): Promise<Buffer> {
  const { data, info } = await sharp(Buffer.from(svg))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });

  // Light noise: Gaussian grain (sigma 5 grey levels) for the lossy formats, which keep it
  // small; sparse speckle (0.3% of pixels) for PNG, where grain would not fit a payload.
  for (let i = 0; i < data.length; i += 3) {
    const speckle = random() < 0.003 ? (random() - 0.5) * 160 : 0;
    const noise = format === 'png' ? speckle : gaussian(random) * 5;
    for (let c = 0; c < 3; c++) {
      data[i + c] = Math.max(0, Math.min(255, (data[i + c] ?? 0) + noise));
    }
  }

  const rotated = sharp(data, {
    raw: { width: info.width, height: info.height, channels: 3 },
  }).rotate(rotationDeg, { background: '#fbfaf7' });
  if (format === 'jpeg')
    return rotated.jpeg({ quality: 80 + Math.floor(random() * 11) }).toBuffer();
  if (format === 'webp') return rotated.webp({ quality: 85 }).toBuffer();
  return rotated.greyscale().png({ compressionLevel: 9, palette: true }).toBuffer();
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'spec-sheets' },
      count: { type: 'string', default: '12' },
      seed: { type: 'string', default: String(0x5eed) },
    },
  });
  const sheets = await renderSpecSheets(Number(values.count), Number(values.seed));
  await mkdir(values.out, { recursive: true });
  for (const [i, sheet] of sheets.entries()) {
    const name = `sheet-${String(i).padStart(3, '0')}`;
    await writeFile(join(values.out, `${name}.${sheet.format}`), sheet.image);
    const { image: _image, ...truth } = sheet;
    await writeFile(join(values.out, `${name}.json`), `${JSON.stringify(truth, null, 2)}\n`);
  }
  process.stderr.write(`${sheets.length} sheets written to ${values.out}\n`);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`Rendering the sheets failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
