import type { HeldJob } from './run-batch.ts';

/**
 * Batches of one type out at once: one computing, the next waiting at the model, formed while
 * the first runs. Triton forms a batch only when an instance of the model is free; this is one
 * instance, double-buffered so the model does not idle while the pool hands it the next batch.
 */
export const BATCHES_IN_FLIGHT = 2;

interface Waiting {
  entry: HeldJob;
  sinceMs: number;
}

interface Window {
  waiting: Waiting[];
  batchSize: number;
  maxQueueDelayMs: number;
  timer: NodeJS.Timeout | undefined;
  /** The oldest job has waited its max queue delay: run what there is once there is room. */
  due: boolean;
}

/**
 * Dynamic batching, as Triton does it: jobs of one type gather in a window, and a batch is
 * formed when the type has room for one (fewer than `BATCHES_IN_FLIGHT` out) and either the
 * model's batch size is reached or the oldest job has waited the model's max queue delay.
 * While the model is busy, jobs keep gathering, so batches grow with the load instead of
 * queueing at the model one small batch after another. The caller reports each batch's end
 * with `done(type)`.
 */
export class BatchWindows {
  readonly #windows = new Map<string, Window>();
  readonly #inFlight = new Map<string, number>();
  readonly #runBatch: (type: string, batch: HeldJob[]) => void;

  constructor(runBatch: (type: string, batch: HeldJob[]) => void) {
    this.#runBatch = runBatch;
  }

  /** Adds a claimed job; runs a batch at once when one is full and the type has room. */
  add(type: string, entry: HeldJob, batchSize: number, maxQueueDelayMs: number): void {
    let window = this.#windows.get(type);
    if (!window) {
      window = { waiting: [], batchSize, maxQueueDelayMs, timer: undefined, due: false };
      this.#windows.set(type, window);
    }
    window.waiting.push({ entry, sinceMs: performance.now() });
    this.#dispatch(type);
  }

  /** A batch of `type` that this produced is done with its model: room for the next one. */
  done(type: string): void {
    this.#inFlight.set(type, Math.max(0, (this.#inFlight.get(type) ?? 0) - 1));
    this.#dispatch(type);
  }

  /** Takes a job out of its window; false when it is not waiting in one. */
  remove(type: string, jobId: string): boolean {
    const window = this.#windows.get(type);
    const index = window?.waiting.findIndex((w) => w.entry.job.id === jobId) ?? -1;
    if (!window || index < 0) return false;

    window.waiting.splice(index, 1);
    if (window.waiting.length === 0) this.#close(type);
    return true;
  }

  /** Empties every window and returns the jobs that were waiting, none of them started. */
  takeAll(): HeldJob[] {
    const entries = [...this.#windows.values()].flatMap((w) => w.waiting.map((x) => x.entry));
    for (const type of [...this.#windows.keys()]) this.#close(type);
    return entries;
  }

  #dispatch(type: string): void {
    const window = this.#windows.get(type);
    if (!window) return;

    let inFlight = this.#inFlight.get(type) ?? 0;
    while (
      inFlight < BATCHES_IN_FLIGHT &&
      (window.waiting.length >= window.batchSize || (window.due && window.waiting.length > 0))
    ) {
      const batch = window.waiting.splice(0, window.batchSize).map((w) => w.entry);
      inFlight += 1;
      this.#inFlight.set(type, inFlight);
      // The rest's delay runs from its own oldest job.
      clearTimeout(window.timer);
      window.timer = undefined;
      window.due = false;
      this.#runBatch(type, batch);
    }

    if (window.waiting.length === 0) {
      this.#close(type);
      return;
    }
    this.#schedule(type, window);
  }

  // The delay runs from the oldest waiting job's arrival; once it passed, the window is due
  // and runs as soon as the type has room.
  #schedule(type: string, window: Window): void {
    if (window.due || window.timer !== undefined) return;
    const oldest = window.waiting[0] as Waiting;
    const leftMs = oldest.sinceMs + window.maxQueueDelayMs - performance.now();
    window.timer = setTimeout(
      () => {
        window.timer = undefined;
        window.due = true;
        this.#dispatch(type);
      },
      Math.max(0, leftMs),
    );
  }

  #close(type: string): void {
    clearTimeout(this.#windows.get(type)?.timer);
    this.#windows.delete(type);
  }
}
