// `npm run bench:pool -- [--json] [--model paddleocr-rec|synthetic-mlp] [--samples N]`: how
// much of onnxruntime's own speed survives Kai's pool. Installs the model into a temp dir
// (by default PaddleOCR v4's pretrained text-line recognizer; synthetic-mlp is the generated
// 1.4 M-parameter MLP, light per sample), and in each of several passes times raw `session.run`
// at batch 1 and 16, then the same work as jobs through the pool (PGlite, or DATABASE_URL when
// set) with batching off and on. Progress goes to stderr; with --json the last stdout line is
// the one result object.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../core/logging/logger.ts';
import { loadModelRepository } from '../../gpu-pool/models/model-repository.ts';
import type { WorkerPool } from '../../gpu-pool/worker-pool.ts';
import { progress, ratio, round } from './bench-output.ts';
import { openKaiBenchDatabase } from './kai-bench-database.ts';
import { clearJobs, measurePacedLatency, measurePoolDrain } from './pool-kai.ts';
import { BENCH_MODELS } from './pool-models.ts';
import { openRawOnnx, PASSES } from './pool-raw.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    model: { type: 'string', default: 'paddleocr-rec' },
    samples: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    /** Jobs of the latency run; half the samples unless given. */
    'paced-jobs': { type: 'string' },
    prefetch: { type: 'string', default: '64' },
  },
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`--${name} must be a whole number of at least 1, not ${text}.`);
  }
  return value;
}

const BATCH = 16;

async function main(): Promise<void> {
  const model = BENCH_MODELS.get(values.model);
  if (!model) {
    throw new RangeError(`--model must be one of ${[...BENCH_MODELS.keys()].join(', ')}.`);
  }
  const samples = positive('samples', values.samples ?? String(model.defaultSamples));
  const concurrency = positive('concurrency', values.concurrency);
  const pacedJobs = positive('paced-jobs', values['paced-jobs'] ?? String(Math.ceil(samples / 2)));
  const prefetch = Number(values.prefetch);
  if (!Number.isInteger(prefetch) || prefetch < 0) {
    throw new RangeError(
      `--prefetch must be a whole number of at least 0, not ${values.prefetch}.`,
    );
  }
  const modelDir = await mkdtemp(join(tmpdir(), 'kai-bench-models-'));
  const database = await openKaiBenchDatabase(process.env.DATABASE_URL, {
    label: 'pool',
    poolMax: 10,
  });

  try {
    const built = await model.install(modelDir);
    progress(
      `pool bench: ${model.name} (${built.parameterCount} parameters), ${samples} samples, ` +
        `pool concurrency ${concurrency}, prefetch ${prefetch}, jobs on ${database.where}`,
    );
    const raw = await openRawOnnx(model, built.modelPath, samples);

    const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });
    const repository = await loadModelRepository(modelDir, {
      logger,
      executionProviders: ['cpu'],
    });
    const run = { model, db: database.db, repository, jobs: samples, concurrency, prefetch };
    const poolPass = async (batched: boolean) => {
      await clearJobs(database.db);
      return measurePoolDrain({ ...run, batchSizeLimit: BATCH, batched });
    };

    // Every pass times all four, raw first; each rate is its best pass. A pool is drained
    // before anything else is timed, but for the last batched one, which stays up for the
    // latency run.
    const best = { raw1: 0, raw16: 0, pool1: 0, pooled: 0 };
    let batched: WorkerPool | undefined;
    for (let pass = 1; pass <= PASSES; pass++) {
      const raw1 = await raw.pass(1);
      const raw16 = await raw.pass(BATCH);
      const single = await poolPass(false);
      await single.pool.drain();
      const pooled = await poolPass(true);
      if (pass < PASSES) await pooled.pool.drain();
      else batched = pooled.pool;
      progress(
        `  pass ${pass}/${PASSES}: raw batch 1 ${raw1.toFixed(1)}, raw batch ${BATCH} ` +
          `${raw16.toFixed(1)}, pool batching off ${single.perSec.toFixed(1)}, pool batching ` +
          `on ${pooled.perSec.toFixed(1)} samples/s`,
      );
      best.raw1 = Math.max(best.raw1, raw1);
      best.raw16 = Math.max(best.raw16, raw16);
      best.pool1 = Math.max(best.pool1, single.perSec);
      best.pooled = Math.max(best.pooled, pooled.perSec);
    }
    await raw.close();
    progress(
      `  best: raw batch 1 ${best.raw1.toFixed(1)}, raw batch ${BATCH} ${best.raw16.toFixed(1)}, ` +
        `pool batching off ${best.pool1.toFixed(1)}, pool batching on ` +
        `${best.pooled.toFixed(1)} samples/s`,
    );

    const rate = best.pooled / 2;
    progress(`  latency: ${pacedJobs} more jobs arriving at ${rate.toFixed(0)}/s (half that rate)`);
    const p95LatencyMs = await measurePacedLatency(model, database.db, pacedJobs, rate);
    await batched?.drain();
    await repository.close();
    progress(`  p95 enqueue -> finished: ${p95LatencyMs.toFixed(1)} ms`);

    progress('');
    progress(`poolBatched / rawBatch16: ${ratio(best.pooled, best.raw16)} (goal >= 0.95x)`);
    const kept = (best.pooled - best.pool1) / (best.raw16 - best.raw1);
    progress(
      `batching gain kept (poolBatched - poolBatch1) / (rawBatch16 - rawBatch1): ` +
        `${kept.toFixed(2)} (goal >= 0.9)`,
    );

    const line = {
      bench: 'pool',
      model: model.name,
      rawBatch1PerSec: round(best.raw1),
      rawBatch16PerSec: round(best.raw16),
      poolBatch1PerSec: round(best.pool1),
      poolBatchedPerSec: round(best.pooled),
      p95LatencyMs: round(p95LatencyMs),
    };
    if (values.json) process.stdout.write(`${JSON.stringify(line)}\n`);
    else {
      for (const [key, value] of Object.entries(line)) {
        process.stdout.write(`${key.padEnd(18)} ${value}\n`);
      }
    }
  } finally {
    await database.close();
    await rm(modelDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`The pool benchmark failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
