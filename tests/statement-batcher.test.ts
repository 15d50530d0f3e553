import { describe, expect, it } from 'vitest';
import { StatementBatcher } from '../core/events/statement-batcher.ts';

// The batcher behind the API's submissions and reads: which calls go together, and when.

/** A run that records each batch and answers once `release` is called. */
function recordingRun() {
  const batches: number[][] = [];
  const releases: (() => void)[] = [];
  const run = (items: number[]) => {
    batches.push(items);
    return new Promise<number[]>((resolve) => {
      releases.push(() => resolve(items.map((n) => n * 10)));
    });
  };
  const releaseAll = () => {
    for (const release of releases.splice(0)) release();
  };
  return { batches, run, releaseAll };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('StatementBatcher', () => {
  it('sends the calls of one turn together, and answers each its own result', async () => {
    const { batches, run, releaseAll } = recordingRun();
    const batcher = new StatementBatcher(run, { maxInFlight: 2, gatherTurn: true });

    const answers = [1, 2, 3, 4].map((n) => batcher.submit(n));
    await turn();
    releaseAll();

    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('holds calls while maxInFlight batches are out, and sends them together after', async () => {
    const { batches, run, releaseAll } = recordingRun();
    const batcher = new StatementBatcher(run, { maxInFlight: 1 });

    const first = batcher.submit(1);
    const rest = [2, 3, 4].map((n) => batcher.submit(n));
    expect(batches).toEqual([[1]]);
    releaseAll();
    await first;
    await turn();
    releaseAll();

    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('with spread, shares the waiting calls evenly among the free places', async () => {
    const { batches, run, releaseAll } = recordingRun();
    const batcher = new StatementBatcher(run, {
      maxInFlight: 2,
      maxBatch: 100,
      gatherTurn: true,
      spread: true,
    });

    const answers = Array.from({ length: 9 }, (_, i) => batcher.submit(i + 1));
    await turn();
    expect(batches).toEqual([
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9],
    ]);
    releaseAll();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it('with spread, still keeps each batch within maxBatch', async () => {
    const { batches, run, releaseAll } = recordingRun();
    const batcher = new StatementBatcher(run, { maxInFlight: 2, maxBatch: 3, spread: true });

    // Sent at once, one by one: the first two calls take the two places.
    const answers = Array.from({ length: 8 }, (_, i) => batcher.submit(i + 1));
    expect(batches).toEqual([[1], [2]]);
    releaseAll();
    await Promise.all(answers.slice(0, 2));
    await turn();

    expect(batches.slice(2)).toEqual([
      [3, 4, 5],
      [6, 7, 8],
    ]);
    releaseAll();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50, 60, 70, 80]);
  });
});
