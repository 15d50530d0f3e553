import type { HeldJob } from './run-batch.ts';

interface Window {
  entries: HeldJob[];
  batchSize: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Dynamic batching, as Triton does it: jobs of one type gather in a window until the model's
 * batch size is reached or the first of them has waited the model's max queue delay, then the
 * window's jobs run as one batch.
 */
export class BatchWindows {
  readonly #windows = new Map<string, Window>();
  readonly #runBatch: (type: string, batch: HeldJob[]) => void;

  constructor(runBatch: (type: string, batch: HeldJob[]) => void) {
    this.#runBatch = runBatch;
  }

  /** Adds a claimed job; runs full batches at once and starts the delay for a new window. */
  add(type: string, entry: HeldJob, batchSize: number, maxQueueDelayMs: number): void {
    let window = this.#windows.get(type);
    if (!window) {
      window = { entries: [], batchSize, timer: undefined };
      this.#windows.set(type, window);
    }
    window.entries.push(entry);

    while (window.entries.length >= window.batchSize) {
      this.#runBatch(type, window.entries.splice(0, window.batchSize));
    }
    if (window.entries.length === 0) {
      this.#close(type);
    } else if (window.timer === undefined) {
      window.timer = setTimeout(() => this.flush(type), maxQueueDelayMs);
    }
  }

  /** Runs what a window holds now, whatever its size. */
  flush(type: string): void {
    const window = this.#windows.get(type);
    this.#close(type);
    if (window && window.entries.length > 0) this.#runBatch(type, window.entries);
  }

  /** Takes a job out of its window; false when it is not waiting in one. */
  remove(type: string, jobId: string): boolean {
    const window = this.#windows.get(type);
    const index = window?.entries.findIndex((e) => e.job.id === jobId) ?? -1;
    if (!window || index < 0) return false;

    window.entries.splice(index, 1);
    if (window.entries.length === 0) this.#close(type);
    return true;
  }

  /** Empties every window and returns the jobs that were waiting, none of them started. */
  takeAll(): HeldJob[] {
    const entries = [...this.#windows.values()].flatMap((w) => w.entries);
    for (const type of [...this.#windows.keys()]) this.#close(type);
    return entries;
  }

  #close(type: string): void {
    clearTimeout(this.#windows.get(type)?.timer);
    this.#windows.delete(type);
  }
}
