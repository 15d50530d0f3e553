import { InferenceSession } from 'onnxruntime-node';
import type { BenchModel } from './pool-models.ts';

/** Runs before the clock starts: at most this many, and a quarter of a pass for heavy models. */
const WARM_UP_RUNS = 20;

/**
 * Each rate is the best of this many timed passes, raw and through the pool alike: on a small
 * shared machine a pass that another process interrupts says nothing about either. The passes
 * take turns (raw, then the pool, then raw again), so a slow spell of the machine falls on
 * both sides instead of on whichever happened to run then.
 */
export const PASSES = 4;

/** Raw `session.run` over the bench's samples, one pass at a time. */
export interface RawOnnx {
  /** Times one pass over every sample at `batch` samples a run; answers samples per second. */
  pass(batch: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Opens the model as Kai's repository does on a machine without CUDA (CPU provider, every
 * graph optimisation) and gets ready to time `session.run` over `samples` inputs.
 */
export async function openRawOnnx(
  model: BenchModel,
  modelPath: string,
  samples: number,
): Promise<RawOnnx> {
  const session = await InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  const feedsByBatch = new Map<number, InferenceSession.FeedsType[]>();

  // Tensors are built before the clock starts, and the first pass of a batch size warms up:
  // the pool's handler builds its own, but raw means the model alone.
  const feedsOf = async (batch: number) => {
    let feeds = feedsByBatch.get(batch);
    if (feeds) return feeds;
    const runs = Math.ceil(samples / batch);
    feeds = Array.from({ length: runs }, (_, run) => model.feeds(run * batch, batch));
    const warmUpRuns = Math.min(WARM_UP_RUNS, Math.max(2, Math.ceil(runs / 4)));
    for (let i = 0; i < warmUpRuns; i++) await session.run(feeds[i % runs] as (typeof feeds)[0]);
    feedsByBatch.set(batch, feeds);
    return feeds;
  };

  return {
    async pass(batch) {
      const feeds = await feedsOf(batch);
      const startMs = performance.now();
      for (const feed of feeds) await session.run(feed);
      return (feeds.length * batch) / ((performance.now() - startMs) / 1000);
    },
    close: () => session.release(),
  };
}
