// Shared by the texture, catalog, pattern and spec tests: a model directory with the real
// generated kai-texture-net, images rendered with sharp, a pool over the real handlers, and a
// wait for jobs to settle.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { Database } from '../core/db/database.ts';
import type { Logger } from '../core/logging/logger.ts';
import { ALL_HANDLERS } from '../gpu-pool/handlers/all-handlers.ts';
import { loadModelRepository, type ModelRepository } from '../gpu-pool/models/model-repository.ts';
import type { PoolMetrics } from '../gpu-pool/pool-metrics.ts';
import { repositoryModels } from '../gpu-pool/repository-models.ts';
import { createWorkerPool, type WorkerPool } from '../gpu-pool/worker-pool.ts';
import { buildTextureNet } from '../scripts/build-texture-net.ts';

/** The queue classes of `startTexturePool`'s pool, for the tests that submit to it. */
export const TEST_POOL_CLASSES = {
  interactive: { concurrency: 20, weight: 10 },
  batch: { concurrency: 20, weight: 5 },
  maintenance: { concurrency: 5, weight: 1 },
};

/** A temporary model directory holding kai-texture-net; `remove()` deletes it. */
export async function textureModelDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kai-texture-test-'));
  await buildTextureNet(dir);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A PNG of sinusoidal grey stripes whose brightness varies along `angleRad` (0: vertical). */
export async function stripesPng(angleRad: number, periodPx = 8, sizePx = 128): Promise<Buffer> {
  const raw = Buffer.alloc(sizePx * sizePx * 3);
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      const along = x * Math.cos(angleRad) + y * Math.sin(angleRad);
      const value = Math.round(127.5 + 127.5 * Math.cos((2 * Math.PI * along) / periodPx));
      raw.fill(value, (y * sizePx + x) * 3, (y * sizePx + x) * 3 + 3);
    }
  }
  return sharp(raw, { raw: { width: sizePx, height: sizePx, channels: 3 } })
    .png()
    .toBuffer();
}

/** A PNG of one flat colour. */
export async function flatPng(rgb: [number, number, number], sizePx = 64): Promise<Buffer> {
  const [r, g, b] = rgb;
  return sharp({ create: { width: sizePx, height: sizePx, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();
}

/** Batch sizes the pool ran, per model, for tests of batching. */
export function recordingMetrics(): PoolMetrics & { batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    claimed: () => {},
    batchRan: (_model, size) => {
      batches.push(size);
    },
    jobSettled: () => {},
    leaseLost: () => {},
  };
}

/** A pool over every real handler and the models of `modelDir`, started. */
export async function startTexturePool(options: {
  db: Database;
  logger: Logger;
  modelDir: string;
  metrics?: PoolMetrics;
  batchSizeLimit?: number;
}): Promise<{ pool: WorkerPool; repository: ModelRepository; stop(): Promise<void> }> {
  const repository = await loadModelRepository(options.modelDir, {
    logger: options.logger,
    executionProviders: ['cpu'],
  });
  const pool = createWorkerPool({
    db: options.db,
    logger: options.logger,
    handlers: ALL_HANDLERS,
    models: repositoryModels(repository, options.batchSizeLimit ?? 8),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    queueClasses: TEST_POOL_CLASSES,
    leaseMs: 30_000,
    retry: { baseMs: 10, maxMs: 100 },
    concurrency: 16,
    batchSizeLimit: options.batchSizeLimit ?? 8,
    pollIntervalMs: 100,
  });
  await pool.start();
  return {
    pool,
    repository,
    async stop() {
      await pool.drain();
      await repository.close();
    },
  };
}

/** A job row as the tests read it. */
export interface SettledJob {
  id: string;
  status: string;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
}

/** Waits until every job of `ids` is completed, dead or cancelled, and returns them in order. */
export async function waitForJobs(
  db: Database,
  ids: readonly string[],
  timeoutMs = 20_000,
): Promise<SettledJob[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await db.query<SettledJob>(
      'select id, status, result, error from public.jobs where id = any($1::uuid[])',
      [ids],
    );
    const settled = rows.filter((r) => ['completed', 'dead', 'cancelled'].includes(r.status));
    if (settled.length === ids.length) {
      return ids.map((id) => rows.find((r) => r.id === id) as SettledJob);
    }
    if (Date.now() > deadline) {
      throw new Error(`Jobs did not settle in ${timeoutMs} ms: ${JSON.stringify(rows)}`);
    }
    await sleep(50);
  }
}
