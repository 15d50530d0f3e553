// `npm run bench:ocr -- [--json] [--images N] [--seed S]`: Kai's OCR and spec extraction on
// rendered specification sheets with known ground truth. Renders the sheets, copies PaddleOCR
// v4 into a temp model repository, reads every sheet once straight through the OCR engine (one
// image at a time, no queue: the reference), then as spec.extract jobs through Kai's pool
// (PGlite, or DATABASE_URL when set), and scores what the pool returned. Progress goes to
// stderr; with --json the last stdout line is the one result object.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Database } from '../../core/db/database.ts';
import { createLogger } from '../../core/logging/logger.ts';
import { enqueueJobs } from '../../core/queue/enqueue.ts';
import type { Specification } from '../../core/spec/specification.ts';
import type { JobHandler } from '../../gpu-pool/handlers/handler.ts';
import { specExtractHandler } from '../../gpu-pool/handlers/spec-extract-handler.ts';
import { decodeImage } from '../../gpu-pool/images/decode-image.ts';
import { loadModelRepository } from '../../gpu-pool/models/model-repository.ts';
import { ocrModelOf } from '../../gpu-pool/ocr/loaded-ocr-model.ts';
import { recognizeImages } from '../../gpu-pool/ocr/ocr-engine.ts';
import { repositoryModels } from '../../gpu-pool/repository-models.ts';
import { createWorkerPool } from '../../gpu-pool/worker-pool.ts';
import { installPaddleOcr } from '../build-models.ts';
import { type RenderedSheet, renderSpecSheets } from '../eval/render-spec-sheets.ts';
import { characterErrors, countFields, type FieldCounts, f1Of } from '../eval/score-ocr.ts';
import { progress, ratio } from './bench-output.ts';
import { openKaiBenchDatabase } from './kai-bench-database.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    images: { type: 'string', default: '24' },
    seed: { type: 'string', default: String(0x5eed) },
    batch: { type: 'string', default: '8' },
  },
});

interface SpecJobResult {
  specification: Specification;
  ocr: { text: string };
}

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`--${name} must be a whole number of at least 1, not ${text}.`);
  }
  return value;
}

async function main(): Promise<void> {
  const imageCount = positive('images', values.images);
  const batchSizeLimit = positive('batch', values.batch);
  const sheets = await renderSpecSheets(imageCount, Number(values.seed));
  const modelDir = await mkdtemp(join(tmpdir(), 'kai-bench-ocr-'));
  const database = await openKaiBenchDatabase(process.env.DATABASE_URL, {
    label: 'ocr',
    poolMax: 5,
  });
  const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });

  try {
    await installPaddleOcr(modelDir);
    const repository = await loadModelRepository(modelDir, {
      logger,
      executionProviders: ['cpu'],
    });
    const model = repository.get('paddleocr');
    if (!model) throw new Error('PaddleOCR did not load from the temp model repository.');
    progress(
      `ocr bench: ${imageCount} rendered sheets, PaddleOCR v4 on cpu, jobs on ${database.where}`,
    );

    // The reference: the same engine, one image per call, no queue and no batching.
    const ocr = await ocrModelOf(model);
    const rawStartedMs = performance.now();
    for (const sheet of sheets) await recognizeImages(ocr, [await decodeImage(sheet.image)]);
    const rawPerSec = imageCount / ((performance.now() - rawStartedMs) / 1000);
    progress(`  engine alone, one image per call: ${rawPerSec.toFixed(2)} images/s`);

    // Kai's pool: every sheet as a spec.extract job, batched by the pool.
    const results = await runThroughPool(database.db, repository, sheets, batchSizeLimit, logger);
    progress(
      `  pool, spec.extract jobs (batch up to ${batchSizeLimit}): ${results.perSec.toFixed(2)} images/s`,
    );
    await repository.close();

    let errors = 0;
    let characters = 0;
    const fields: FieldCounts = { truePositives: 0, falsePositives: 0, falseNegatives: 0 };
    for (const [i, sheet] of sheets.entries()) {
      const result = results.byIndex[i];
      const text = result?.ocr.text ?? '';
      const page = characterErrors(sheet.rows, text);
      errors += page.errors;
      characters += page.characters;
      const counts = result
        ? countFields(result.specification, sheet.spec)
        : countFields({ standards: [] }, sheet.spec);
      fields.truePositives += counts.truePositives;
      fields.falsePositives += counts.falsePositives;
      fields.falseNegatives += counts.falseNegatives;
    }
    const charAccuracy = characters === 0 ? 0 : 1 - errors / characters;
    const specFieldF1 = f1Of(fields);

    progress('');
    progress(
      `charAccuracy ${charAccuracy.toFixed(4)} (goal >= 0.98), ${errors} errors in ${characters} characters`,
    );
    progress(
      `specFieldF1 ${specFieldF1.toFixed(4)} (goal >= 0.9): ${fields.truePositives} right, ` +
        `${fields.falsePositives} wrong or extra, ${fields.falseNegatives} missed`,
    );
    progress(`pool / engine alone: ${ratio(results.perSec, rawPerSec)}`);

    const line = {
      bench: 'ocr',
      images: imageCount,
      charAccuracy: Math.round(charAccuracy * 10_000) / 10_000,
      specFieldF1: Math.round(specFieldF1 * 10_000) / 10_000,
      imagesPerSec: Math.round(results.perSec * 100) / 100,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(line)}\n`);
    else {
      for (const [key, value] of Object.entries(line)) {
        process.stdout.write(`${key.padEnd(14)} ${value}\n`);
      }
      process.stdout.write(`${'engineAlone'.padEnd(14)} ${rawPerSec.toFixed(2)} images/s\n`);
    }
  } finally {
    await database.close();
    await rm(modelDir, { recursive: true, force: true });
  }
}

async function runThroughPool(
  db: Database,
  repository: Awaited<ReturnType<typeof loadModelRepository>>,
  sheets: readonly RenderedSheet[],
  batchSizeLimit: number,
  logger: ReturnType<typeof createLogger>,
): Promise<{ perSec: number; byIndex: (SpecJobResult | undefined)[] }> {
  const startedMs = performance.now();
  const enqueued = await enqueueJobs(
    db,
    sheets.map((sheet) => ({
      type: 'spec.extract',
      payload: { imageBase64: sheet.image.toString('base64') },
      queue: 'interactive',
      model: 'paddleocr',
    })),
  );
  const ids = enqueued.map((entry) => entry.job.id);

  const pool = createWorkerPool({
    db,
    logger,
    handlers: [specExtractHandler as JobHandler],
    models: repositoryModels(repository, batchSizeLimit),
    queueClasses: { interactive: { concurrency: 64, weight: 1 } },
    leaseMs: 120_000,
    retry: { baseMs: 1000, maxMs: 10_000 },
    concurrency: batchSizeLimit,
    batchSizeLimit,
    pollIntervalMs: 50,
  });
  await pool.start();

  const deadlineMs = performance.now() + Math.max(120_000, sheets.length * 10_000);
  let rows: { id: string; status: string; result: SpecJobResult | null }[] = [];
  while (performance.now() < deadlineMs) {
    rows = await db.query(`select id, status, result from public.jobs where id = any($1::uuid[])`, [
      ids,
    ]);
    if (rows.every((row) => ['completed', 'dead', 'cancelled'].includes(row.status))) break;
    await sleep(50);
  }
  const elapsedMs = performance.now() - startedMs;
  await pool.drain();

  const failed = rows.filter((row) => row.status !== 'completed');
  if (failed.length > 0) progress(`  ${failed.length} jobs did not complete; they score as unread`);
  const byId = new Map(rows.map((row) => [row.id, row.result ?? undefined]));
  return {
    perSec: sheets.length / (elapsedMs / 1000),
    byIndex: ids.map((id) => byId.get(id)),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`The OCR benchmark failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
