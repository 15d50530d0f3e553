import { InferenceSession } from 'onnxruntime-node';
import { progress } from './bench-output.ts';
import type { BenchModel } from './pool-models.ts';

/** Samples per second of `session.run` alone, one run after the other. */
export interface RawRates {
  batch1PerSec: number;
  batch16PerSec: number;
}

/** Runs before the clock starts: at most this many, and a quarter of a pass for heavy models. */
const WARM_UP_RUNS = 20;
/**
 * Each rate is the best of this many timed passes, raw and through the pool alike: on a small
 * shared machine a pass that another process interrupts says nothing about either.
 */
export const PASSES = 3;

/**
 * Opens the model as Kai's repository does on a machine without CUDA (CPU provider, every
 * graph optimisation) and times `session.run` over `samples` inputs at batch 1 and batch 16,
 * the best of three passes each.
 */
export async function measureRawOnnx(
  model: BenchModel,
  modelPath: string,
  samples: number,
): Promise<RawRates> {
  const session = await InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  try {
    const batch1PerSec = await samplesPerSec(model, session, samples, 1);
    progress(`  raw session.run, batch 1: ${batch1PerSec.toFixed(0)} samples/s`);
    const batch16PerSec = await samplesPerSec(model, session, samples, 16);
    progress(`  raw session.run, batch 16: ${batch16PerSec.toFixed(0)} samples/s`);
    return { batch1PerSec, batch16PerSec };
  } finally {
    await session.release();
  }
}

async function samplesPerSec(
  model: BenchModel,
  session: InferenceSession,
  samples: number,
  batch: number,
): Promise<number> {
  // Tensors are built before the clock starts: the pool's handler builds its own, but raw
  // means the model alone.
  const runs = Math.ceil(samples / batch);
  const feeds = Array.from({ length: runs }, (_, run) => model.feeds(run * batch, batch));

  const warmUpRuns = Math.min(WARM_UP_RUNS, Math.max(2, Math.ceil(runs / 4)));
  for (let i = 0; i < warmUpRuns; i++) {
    await session.run(feeds[i % runs] as InferenceSession.FeedsType);
  }

  let best = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    const startMs = performance.now();
    for (const feed of feeds) await session.run(feed);
    const seconds = (performance.now() - startMs) / 1000;
    best = Math.max(best, (runs * batch) / seconds);
  }
  return best;
}
