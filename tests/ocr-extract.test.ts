import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { ValidationError } from '../core/errors.ts';
import { submitJob } from '../core/jobs/submit-job.ts';
import { createLogger } from '../core/logging/logger.ts';
import { enqueueJobs } from '../core/queue/enqueue.ts';
import type { JobHandler } from '../gpu-pool/handlers/handler.ts';
import { ocrExtractHandler } from '../gpu-pool/handlers/ocr-extract-handler.ts';
import { specExtractHandler } from '../gpu-pool/handlers/spec-extract-handler.ts';
import { decodeImage } from '../gpu-pool/images/decode-image.ts';
import { loadModelRepository, type ModelRepository } from '../gpu-pool/models/model-repository.ts';
import { ocrModelOf } from '../gpu-pool/ocr/loaded-ocr-model.ts';
import { type OcrModel, type OcrResult, recognizeImages } from '../gpu-pool/ocr/ocr-engine.ts';
import { NO_METRICS } from '../gpu-pool/pool-metrics.ts';
import { repositoryModels } from '../gpu-pool/repository-models.ts';
import { createWorkerPool, type WorkerPool } from '../gpu-pool/worker-pool.ts';
import { installPaddleOcr } from '../scripts/build-models.ts';
import { hugePng } from '../scripts/eval/bad-images.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const CLASSES = { interactive: { concurrency: 20, weight: 1 } };
const SLOW_MS = 180_000;

let modelDir: string;
let repository: ModelRepository;
let testDb: TestDatabase;
let db: Database;
let pool: WorkerPool;
const batchSizes: number[] = [];

/** A white PNG with one line of dark text per entry, in `font`, 26 px, 50 px apart. */
async function textImage(lines: string[], font = 'DejaVu Sans'): Promise<Buffer> {
  const texts = lines.map(
    (line, i) =>
      `<text x="24" y="${56 + i * 50}" font-family="${font}" font-size="26">${line}</text>`,
  );
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${40 + lines.length * 50}">` +
    `<rect width="100%" height="100%" fill="white"/>${texts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function settled(ids: string[]) {
  await expect
    .poll(
      async () => {
        const rows = await db.query<{ status: string }>(
          `select status from public.jobs where id = any($1::uuid[])
             and status in ('completed', 'dead')`,
          [ids],
        );
        return rows.length;
      },
      { timeout: SLOW_MS, interval: 100 },
    )
    .toBe(ids.length);
  return db.query<{ id: string; status: string; result: unknown; error: unknown }>(
    'select id, status, result, error from public.jobs where id = any($1::uuid[])',
    [ids],
  );
}

async function run(type: string, payloads: unknown[]) {
  const jobs = await enqueueJobs(
    db,
    payloads.map((payload) => ({ type, payload, queue: 'interactive', model: 'paddleocr' })),
  );
  const ids = jobs.map((job) => job.job.id);
  const rows = await settled(ids);
  return ids.map((id) => rows.find((row) => row.id === id) as (typeof rows)[number]);
}

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'kai-ocr-models-'));
  await installPaddleOcr(modelDir);
  repository = await loadModelRepository(modelDir, { logger, executionProviders: ['cpu'] });
  testDb = await createTestDatabase();
  db = testDb.db;

  pool = createWorkerPool({
    db,
    logger,
    handlers: [ocrExtractHandler as JobHandler, specExtractHandler as JobHandler],
    models: repositoryModels(repository, 8),
    metrics: { ...NO_METRICS, batchRan: (_model, size) => batchSizes.push(size) },
    queueClasses: CLASSES,
    leaseMs: 120_000,
    retry: { baseMs: 50, maxMs: 500 },
    concurrency: 8,
    batchSizeLimit: 8,
    pollIntervalMs: 100,
  });
  await pool.start();
}, SLOW_MS);

afterAll(async () => {
  await pool?.drain();
  await repository?.close();
  await testDb?.drop();
  await rm(modelDir, { recursive: true, force: true });
});

describe('the paddleocr model', () => {
  it('loads from the repository with its recognizer companion and dictionary', () => {
    const [status] = repository.models().filter((m) => m.name === 'paddleocr');
    expect(status).toMatchObject({ ready: true, version: '4', provider: 'cpu' });
    expect(status?.manifest?.license).toBe('MIT');
    expect(status?.manifest?.companions?.map((c) => c.role)).toEqual(['recognizer', 'orientation']);
    expect(repository.get('paddleocr')?.assetPath('dictionary')).toMatch(/ppocr_keys_v1\.txt$/);
  });
});

describe('ocr.extract through the pool', () => {
  it(
    'reads the lines of a rendered image with boxes, confidences and reading order',
    async () => {
      const image = await textImage(['Porcelain tile 600 x 600 mm', 'Water absorption 0.5%']);
      const [row] = await run('ocr.extract', [{ imageBase64: image.toString('base64') }]);

      expect(row?.status).toBe('completed');
      const result = row?.result as OcrResult;
      expect(result.lines.map((line) => line.text)).toEqual([
        'Porcelain tile 600 x 600 mm',
        'Water absorption 0.5%',
      ]);
      expect(result.text).toBe('Porcelain tile 600 x 600 mm\nWater absorption 0.5%');
      expect([result.width, result.height]).toEqual([760, 140]);
      for (const [order, line] of result.lines.entries()) {
        expect(line.order).toBe(order);
        expect(line.confidence).toBeGreaterThan(0.8);
        expect(line.box).toHaveLength(4);
        // The box holds the baseline of its line (y = 56 + 50 * order) and starts near x = 24.
        const ys = line.box.map(([, y]) => y);
        expect(Math.min(...ys)).toBeLessThan(56 + 50 * order);
        expect(Math.max(...ys)).toBeGreaterThan(56 + 50 * order);
        expect(line.box[0]?.[0]).toBeLessThan(30);
      }
    },
    SLOW_MS,
  );

  it(
    'runs jobs that arrive together as one batch, and each gets its own text',
    async () => {
      const texts = ['Matt finish', 'Polished granite slab', 'Frost resistant'];
      const images = await Promise.all(texts.map((text) => textImage([text], 'DejaVu Serif')));
      batchSizes.length = 0;
      const rows = await run(
        'ocr.extract',
        images.map((image) => ({ imageBase64: image.toString('base64') })),
      );

      expect(rows.map((row) => (row.result as OcrResult).text)).toEqual(texts);
      expect(batchSizes).toContain(3);
    },
    SLOW_MS,
  );

  it(
    'fails bad inputs with stable codes, never the pool: the good job beside them completes',
    async () => {
      const png = await textImage(['Slip resistance R11']);
      const rows = await run('ocr.extract', [
        { imageBase64: Buffer.from('just some text, no image').toString('base64') },
        { imageBase64: png.subarray(0, Math.floor(png.length * 0.6)).toString('base64') },
        { imageBase64: hugePng(30_000, 30_000).toString('base64') },
        { imageBase64: '' },
        { imageBase64: png.toString('base64') },
      ]);

      expect(rows.map((row) => row.status)).toEqual(['dead', 'dead', 'dead', 'dead', 'completed']);
      const codes = rows.map((row) => (row.error as { code?: string } | null)?.code);
      expect(codes.slice(0, 4)).toEqual([
        'invalid_payload',
        'image_unreadable',
        'invalid_payload',
        'invalid_payload',
      ]);
      expect(JSON.stringify(rows[2]?.error)).toMatch(/30000x30000 pixels/);
      expect((rows[4]?.result as OcrResult | undefined)?.text).toBe('Slip resistance R11');
      expect(pool.isReady()).toBe(true);
    },
    SLOW_MS,
  );
});

describe('spec.extract through the pool', () => {
  it(
    'reads a specification from an image (OCR first) and from text',
    async () => {
      const image = await textImage([
        'Material: Porcelain stoneware',
        'Size: 60 x 120 cm, thickness 9 mm',
        'Slip resistance R10, PEI IV',
        'Water absorption (ISO 10545-3): 0.5 %',
      ]);
      const [fromImage, fromText] = await run('spec.extract', [
        { imageBase64: image.toString('base64') },
        { text: 'Finish: Honed\nColour: Ivory\nDCOF 0.42 (ANSI A326.3)' },
      ]);

      expect(fromImage?.status).toBe('completed');
      const result = fromImage?.result as
        | { specification: Record<string, { value: unknown } | undefined> }
        | undefined;
      const spec = result?.specification ?? {};
      expect(spec.material?.value).toBe('porcelain');
      expect(spec.dimensions?.value).toEqual({ widthMm: 600, lengthMm: 1200, unit: 'cm' });
      expect(spec.thickness?.value).toEqual({ mm: 9, unit: 'mm' });
      expect(spec.slipRating?.value).toBe('R10');
      expect(spec.peiClass?.value).toBe(4);
      expect(spec.waterAbsorption?.value).toEqual({ percent: 0.5, comparator: '=' });

      const textSpec = (fromText?.result as { source: string; specification: unknown }) ?? {};
      expect(textSpec.source).toBe('text');
      expect(textSpec.specification).toMatchObject({
        finish: { value: 'honed' },
        colour: { value: 'ivory' },
        dcof: { value: 0.42 },
        standards: [{ value: 'ANSI A326.3' }],
      });
    },
    SLOW_MS,
  );
});

describe('submission', () => {
  it('refuses images that can be judged before queueing with a 422 naming the field', async () => {
    const bad = [
      '',
      'not base64 at all',
      Buffer.from('GIF89a').toString('base64'),
      hugePng(30_000, 30_000).toString('base64'),
    ];
    for (const imageBase64 of bad) {
      const error = await submitJob(db, CLASSES, {
        type: 'ocr.extract',
        payload: { imageBase64 },
        ownerId: null,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ status: 422, code: 'validation_failed' });
      const fields = (error as ValidationError).extensions.errors as { path: string }[];
      expect(fields[0]?.path).toBe('payload.imageBase64');
    }
  });
});

describe('line orientation', () => {
  it(
    'turns upside-down lines upright before reading them',
    async () => {
      const model = repository.get('paddleocr');
      if (!model) throw new Error('paddleocr is not loaded');
      const ocr = await ocrModelOf(model);
      const upright = await textImage(['Glazed porcelain stoneware', 'Frost resistant']);
      const turned = await sharp(upright).rotate(180).png().toBuffer();

      const read = await recognizeImages(ocr, [await decodeImage(turned)]);
      expect(read.stats.orientationRuns).toBe(1);
      // Each line reads right; the page itself is not turned, so the rows come bottom first.
      expect(read.results[0]?.lines.map((line) => line.text)).toEqual([
        'Frost resistant',
        'Glazed porcelain stoneware',
      ]);
    },
    SLOW_MS,
  );
});

describe('recognition batching', () => {
  it(
    'recognizes the lines of several images in one run per width bucket, as alone',
    async () => {
      const model = repository.get('paddleocr');
      if (!model) throw new Error('paddleocr is not loaded');
      const ocr = await ocrModelOf(model);
      let runs = 0;
      const counting: OcrModel = {
        ...ocr,
        recognize: (input) => {
          runs++;
          return ocr.recognize(input);
        },
      };
      const images = await Promise.all(
        [['R10', 'Ivory'], ['R11', 'Beige'], ['Glazed porcelain stoneware']].map(async (lines) =>
          decodeImage(await textImage(lines)),
        ),
      );

      const together = await recognizeImages(counting, images);
      const runsTogether = runs;
      const alone = [];
      for (const image of images) alone.push((await recognizeImages(ocr, [image])).results[0]);

      expect(together.results.map((r) => r.text)).toEqual(alone.map((r) => r?.text));
      expect(together.stats.lines).toBe(5);
      // Four short lines share a bucket; the long one has its own.
      expect(runsTogether).toBe(together.stats.recognizerRuns);
      expect(together.stats.recognizerRuns).toBe(2);
    },
    SLOW_MS,
  );
});
