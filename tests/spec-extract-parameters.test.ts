// spec.extract run with registry sets: the same specification sheet read by the real
// PaddleOCR model with porcelain's standard set and with a set whose detector input is 320 px,
// too coarse for the sheet's small print; and a text job that records the set it ignores.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob } from '../core/jobs/submit-job.ts';
import { createLogger } from '../core/logging/logger.ts';
import { addParameterSetVersion } from '../core/registry/parameter-sets.ts';
import { resolveParameters } from '../core/registry/resolve-parameters.ts';
import type { ParametersUsed } from '../gpu-pool/handlers/parameters-used.ts';
import { installPaddleOcr } from '../scripts/build-models.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { startTexturePool, TEST_POOL_CLASSES, waitForJobs } from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SLOW_MS = 180_000;

let modelDir: string;
let testDb: TestDatabase;
let running: Awaited<ReturnType<typeof startTexturePool>>;

interface SpecResult {
  source: 'text' | 'image';
  specification: Record<string, unknown>;
  ocr?: { text: string; lines: number };
  parameters?: ParametersUsed;
}

/** A white 760 px wide sheet: "label: value" lines in 26 px DejaVu Serif, one in 11 px. */
async function specSheet(): Promise<Buffer> {
  const lines: [string, number][] = [
    ['Material: Porcelain stoneware', 26],
    ['Size: 60 x 120 cm, thickness 9 mm', 26],
    ['Slip resistance R10, PEI IV', 26],
    ['Finish: matt', 26],
    ['Colour: anthracite grey', 11],
    ['Water absorption (ISO 10545-3): 0.5 %', 26],
  ];
  const texts = lines.map(
    ([text, size], i) =>
      `<text x="24" y="${56 + i * 50}" font-family="DejaVu Serif" font-size="${size}" ` +
      `fill="${size < 20 ? '#555' : '#000'}">${text}</text>`,
  );
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${40 + lines.length * 50}">` +
    `<rect width="100%" height="100%" fill="white"/>${texts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function runSpec(payload: Record<string, unknown>, set?: string): Promise<SpecResult> {
  const { job } = await submitJob(testDb.db, TEST_POOL_CLASSES, {
    type: 'spec.extract',
    payload,
    ownerId: null,
    parameters: { material: 'porcelain', task: 'spec.extract', ...(set && { set }) },
  });
  const [settled] = await waitForJobs(testDb.db, [job.id], SLOW_MS);
  expect(settled?.status, JSON.stringify(settled?.error)).toBe('completed');
  return settled?.result as unknown as SpecResult;
}

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'kai-spec-parameters-'));
  await installPaddleOcr(modelDir);
  testDb = await createTestDatabase();
  running = await startTexturePool({ db: testDb.db, logger, modelDir });
}, SLOW_MS);

afterAll(async () => {
  await running?.stop();
  await testDb?.drop();
  await rm(modelDir, { recursive: true, force: true });
});

describe('spec.extract with a registry set', () => {
  it(
    'reads the small print with the standard set and loses it with a 320 px detector input',
    async () => {
      const standard = await resolveParameters(testDb.db, {
        material: 'porcelain',
        task: 'spec.extract',
      });
      const coarse = await testDb.db.transaction((tx) =>
        addParameterSetVersion(
          tx,
          { material: 'porcelain', task: 'spec.extract', set: 'coarse' },
          { values: { ...standard.values, maxSideLen: 320 }, source: 'manual', activate: true },
          null,
        ),
      );
      const imageBase64 = (await specSheet()).toString('base64');

      const fine = await runSpec({ imageBase64 });
      expect(fine.ocr?.lines).toBe(6);
      expect(fine.ocr?.text).toContain('anthracite');
      expect(fine.specification.colour).toMatchObject({ value: expect.stringMatching(/anthr/) });
      expect(fine.parameters).toEqual({
        material: 'porcelain',
        task: 'spec.extract',
        set: 'standard',
        version: standard.version,
        versionId: standard.versionId,
        applied: standard.values,
        ignored: {},
      });

      // 760 px scaled to 320: the 11 px line is under 5 px tall in the detector's input, below
      // what it finds; the 26 px lines (11 px there) are still read.
      const rough = await runSpec({ imageBase64 }, 'coarse');
      expect(rough.ocr?.lines).toBe(5);
      expect(rough.ocr?.text).not.toContain('anthracite');
      expect(rough.ocr?.text).toContain('Water absorption');
      expect(rough.specification.colour ?? null).toBeNull();
      expect(rough.specification.finish).toBeDefined();
      expect(rough.parameters).toMatchObject({
        set: 'coarse',
        version: 1,
        versionId: coarse.active?.id,
        applied: { maxSideLen: 320 },
      });
    },
    SLOW_MS,
  );

  it(
    'records the set of a text job and says it changed nothing (no OCR ran)',
    async () => {
      const result = await runSpec({ text: 'Porcelain tile, slip resistance R11' });
      expect(result.source).toBe('text');
      expect(result.specification.slipRating).toBeDefined();
      expect(result.parameters).toMatchObject({ set: 'standard', applied: {} });
      expect(Object.keys(result.parameters?.ignored ?? {}).sort()).toEqual([
        'boxThreshold',
        'detThreshold',
        'maxSideLen',
        'recScoreMin',
        'unclipRatio',
      ]);
      expect(result.parameters?.ignored.maxSideLen).toMatch(/no OCR ran/);
    },
    SLOW_MS,
  );
});
