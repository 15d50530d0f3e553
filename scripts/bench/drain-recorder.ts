import { percentile } from './bench-output.ts';

/** What one drain measured, before rounding. */
export interface DrainSummary {
  jobsPerSec: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  /** Jobs enqueued that no handler ever ran. */
  lost: number;
  /** Handler runs beyond the first, over all jobs. */
  duplicated: number;
}

/**
 * Records, per job, when it was enqueued and every time a handler finished it, with the same
 * in-process clock for every system, so latencies and counts compare across systems.
 */
export class DrainRecorder {
  readonly #enqueuedAtMs = new Map<string, number>();
  readonly #firstHandledAtMs = new Map<string, number>();
  #handlerRuns = 0;
  #onAllHandled: (() => void) | undefined;

  /** Notes that these jobs (by key: a job id or a payload index) were committed now. */
  enqueued(keys: Iterable<string>, atMs = performance.now()): void {
    for (const key of keys) this.#enqueuedAtMs.set(key, atMs);
  }

  /** Notes that a handler finished the job `key` now; a second run of it is a duplicate. */
  handled(key: string, atMs = performance.now()): void {
    this.#handlerRuns += 1;
    if (this.#firstHandledAtMs.has(key)) return;

    this.#firstHandledAtMs.set(key, atMs);
    if (this.#firstHandledAtMs.size >= this.#enqueuedAtMs.size) this.#onAllHandled?.();
  }

  get handledCount(): number {
    return this.#firstHandledAtMs.size;
  }

  /** Resolves true once every enqueued job was handled, false after `timeoutMs`. */
  allHandled(timeoutMs: number): Promise<boolean> {
    if (this.#firstHandledAtMs.size >= this.#enqueuedAtMs.size) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#onAllHandled = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** The handler timestamps of the first and the last job handled. */
  handledSpanMs(): { firstMs: number; lastMs: number } {
    const times = [...this.#firstHandledAtMs.values()];
    return { firstMs: Math.min(...times), lastMs: Math.max(...times) };
  }

  /** Throughput over `[startMs, endMs]` and latency from enqueue to handler, per job. */
  summary(startMs: number, endMs: number): DrainSummary {
    const latencies: number[] = [];
    let lost = 0;
    for (const [key, enqueuedMs] of this.#enqueuedAtMs) {
      const handledMs = this.#firstHandledAtMs.get(key);
      if (handledMs === undefined) lost += 1;
      else latencies.push(handledMs - enqueuedMs);
    }

    const seconds = (endMs - startMs) / 1000;
    return {
      jobsPerSec: seconds > 0 ? latencies.length / seconds : 0,
      p50LatencyMs: percentile(latencies, 0.5),
      p99LatencyMs: percentile(latencies, 0.99),
      lost,
      duplicated: this.#handlerRuns - this.#firstHandledAtMs.size,
    };
  }
}
