import { setTimeout as sleep } from 'node:timers/promises';
import { progress } from './bench-output.ts';
import type { DrainRecorder } from './drain-recorder.ts';

/** A queue with every job already enqueued, its workers not yet started. */
export interface PreparedQueue {
  /** Starts the workers; the drain is timed from this call. */
  start(): Promise<void>;
  /** How many jobs the queue's own tables still hold as not completed. */
  remaining(): Promise<number>;
  /** Stops the workers and closes every connection. */
  stop(): Promise<void>;
}

/** When a drain ran, on the recorder's clock. */
export interface DrainTimes {
  startMs: number;
  /** When the queue's tables first showed every job completed. */
  endMs: number;
  /** False when the jobs were not all handled and settled within the time allowed. */
  finished: boolean;
}

/** How often the tables are checked once every handler has run; short, and only at the end. */
const SETTLE_POLL_MS = 2;

/**
 * Starts the workers and waits until every job was handled and the queue's own tables agree
 * that none is left, so the time includes writing the last completion.
 */
export async function drain(
  queue: PreparedQueue,
  recorder: DrainRecorder,
  timeoutMs: number,
): Promise<DrainTimes> {
  const startMs = performance.now();
  const deadlineMs = startMs + timeoutMs;
  await queue.start();

  const ticker = setInterval(() => {
    const seconds = ((performance.now() - startMs) / 1000).toFixed(1);
    progress(`  ${seconds}s: ${recorder.handledCount} handled`);
  }, 2000);
  const handled = await recorder.allHandled(timeoutMs);
  clearInterval(ticker);

  let left = handled ? await queue.remaining() : -1;
  while (left > 0 && performance.now() < deadlineMs) {
    await sleep(SETTLE_POLL_MS);
    left = await queue.remaining();
  }

  return { startMs, endMs: performance.now(), finished: left === 0 };
}
