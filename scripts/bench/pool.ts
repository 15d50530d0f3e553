// `npm run bench:pool -- [--json] [--model paddleocr-rec|synthetic-mlp] [--samples N]`: how
// much of onnxruntime's own speed survives Kai's pool. Installs the model into a temp dir
// (by default PaddleOCR v4's pretrained text-line recognizer; synthetic-mlp is the generated
// 1.4 M-parameter MLP, light per sample), times raw `session.run` at batch 1 and 16, then the
// same work as jobs through the pool (PGlite, or DATABASE_URL when set) with batching off and
// on. Progress goes to stderr; with --json the last stdout line is the one result object.
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
import { measureRawOnnx, PASSES } from './pool-raw.ts';

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
    const raw = await measureRawOnnx(model, built.modelPath, samples);

    const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });
    const repository = await loadModelRepository(modelDir, {
      logger,
      executionProviders: ['cpu'],
    });
    const run = { model, db: database.db, repository, jobs: samples, concurrency, prefetch };

    // The pool gets as many passes as raw onnxruntime did, and its best counts too. The last
    // batched pass's pool stays up for the latency run.
    const bestOf = async (batched: boolean) => {
      let best = 0;
      let last: WorkerPool | undefined;
      for (let pass = 0; pass < PASSES; pass++) {
        await last?.drain();
        await clearJobs(database.db);
        const drained = await measurePoolDrain({ ...run, batchSizeLimit: BATCH, batched });
        best = Math.max(best, drained.perSec);
        last = drained.pool;
      }
      return { perSec: best, pool: last as WorkerPool };
    };

    const single = await bestOf(false);
    await single.pool.drain();
    progress(`  pool, batching off (batch 1): ${single.perSec.toFixed(0)} samples/s`);

    const batched = await bestOf(true);
    progress(`  pool, batching on (batch ${BATCH}): ${batched.perSec.toFixed(0)} samples/s`);
    const rate = batched.perSec / 2;
    progress(`  latency: ${pacedJobs} more jobs arriving at ${rate.toFixed(0)}/s (half that rate)`);
    const p95LatencyMs = await measurePacedLatency(model, database.db, pacedJobs, rate);
    await batched.pool.drain();
    await repository.close();
    progress(`  p95 enqueue -> finished: ${p95LatencyMs.toFixed(1)} ms`);

    progress('');
    progress(
      `poolBatched / rawBatch16: ${ratio(batched.perSec, raw.batch16PerSec)} (goal >= 0.95x)`,
    );
    const kept = (batched.perSec - single.perSec) / (raw.batch16PerSec - raw.batch1PerSec);
    progress(
      `batching gain kept (poolBatched - poolBatch1) / (rawBatch16 - rawBatch1): ` +
        `${kept.toFixed(2)} (goal >= 0.9)`,
    );

    const line = {
      bench: 'pool',
      model: model.name,
      rawBatch1PerSec: round(raw.batch1PerSec),
      rawBatch16PerSec: round(raw.batch16PerSec),
      poolBatch1PerSec: round(single.perSec),
      poolBatchedPerSec: round(batched.perSec),
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
