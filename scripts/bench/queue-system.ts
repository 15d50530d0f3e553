import type { PreparedQueue } from './drain.ts';
import type { DrainRecorder } from './drain-recorder.ts';

/** The settings every system of the queue benchmark is run with. */
export interface QueueBenchSettings {
  /** The server; each system makes its own database on it. */
  serverUrl: string;
  jobs: number;
  /** Jobs run at once, the same for every system. */
  concurrency: number;
  /** Connections each system may open, the same for every system. */
  poolMax: number;
  /** Jobs per enqueue call. */
  enqueueChunk: number;
  /**
   * Whether to ANALYZE the database once the backlog is in, as autovacuum would have done by
   * then in a running system, so no queue starts on a plan made for an empty table.
   */
  analyze: boolean;
}

/**
 * One system under test: `prepare` makes its database, enqueues every job (telling the
 * recorder when each was committed) and hands back workers that are not yet started. Its
 * handler tells the recorder of each job it finished.
 */
export interface QueueSystem {
  name: 'kai' | 'pg-boss' | 'graphile-worker';
  /** Its settings, for the log. */
  describe(settings: QueueBenchSettings): string;
  prepare(settings: QueueBenchSettings, recorder: DrainRecorder): Promise<PreparedQueue>;
}

/** `count` consecutive indexes from `from`, as the chunks of an enqueue loop. */
export function* chunks(count: number, size: number): Generator<number[]> {
  for (let from = 0; from < count; from += size) {
    yield Array.from({ length: Math.min(size, count - from) }, (_, i) => from + i);
  }
}
