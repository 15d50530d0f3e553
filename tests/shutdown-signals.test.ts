import { afterEach, describe, expect, it, vi } from 'vitest';
import { handleShutdownSignals } from '../core/lifecycle/shutdown-signals.ts';
import { createLogger } from '../core/logging/logger.ts';

const logger = createLogger({ level: 'silent' });

afterEach(() => {
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  vi.useRealTimers();
});

function setup(drain: () => Promise<void>, timeoutMs = 5000) {
  const exits: number[] = [];
  const drainSpy = vi.fn(drain);
  handleShutdownSignals({ logger, drain: drainSpy, timeoutMs, exit: (code) => exits.push(code) });
  return { exits, drainSpy };
}

describe('handleShutdownSignals', () => {
  it('drains on the first signal and exits 0 when the drain is done', async () => {
    const { exits, drainSpy } = setup(async () => {});

    process.emit('SIGTERM', 'SIGTERM');

    await vi.waitFor(() => expect(exits).toEqual([0]));
    expect(drainSpy).toHaveBeenCalledOnce();
  });

  it('takes the copy npm forwards of a Ctrl-C as the same request', async () => {
    let finish: () => void = () => {};
    const { exits, drainSpy } = setup(() => new Promise<void>((resolve) => (finish = resolve)));

    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGINT', 'SIGINT');
    finish();

    await vi.waitFor(() => expect(exits).toEqual([0]));
    expect(drainSpy).toHaveBeenCalledOnce();
  });

  it('stops at once with exit 1 on a later second signal', () => {
    vi.useFakeTimers();
    const { exits } = setup(() => new Promise<void>(() => {}));

    process.emit('SIGINT', 'SIGINT');
    vi.advanceTimersByTime(1500);
    process.emit('SIGINT', 'SIGINT');

    expect(exits).toEqual([1]);
  });

  it('gives up on a drain that outlasts its timeout with exit 1', () => {
    vi.useFakeTimers();
    const { exits } = setup(() => new Promise<void>(() => {}), 2000);

    process.emit('SIGTERM', 'SIGTERM');
    vi.advanceTimersByTime(1999);
    expect(exits).toEqual([]);
    vi.advanceTimersByTime(1);

    expect(exits).toEqual([1]);
  });
});
