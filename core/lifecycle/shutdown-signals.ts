import type { Logger } from '../logging/logger.ts';

/**
 * A signal repeated within this window is the same request: a terminal's Ctrl-C reaches both
 * npm and Kai, and npm forwards its copy, so Kai sees SIGINT twice at once.
 */
const DUPLICATE_SIGNAL_MS = 1000;

export interface ShutdownOptions {
  logger: Logger;
  /** Stops taking work and finishes what runs; the process exits 0 when it resolves. */
  drain: () => Promise<void>;
  /** After this long the drain is abandoned and the process exits 1. */
  timeoutMs: number;
  exit?: (code: number) => void;
}

/**
 * Two-stage shutdown on SIGINT and SIGTERM: the first signal drains, a later second one stops
 * at once. Returns the function that starts the drain, for other reasons to stop (a lost lock).
 */
export function handleShutdownSignals(options: ShutdownOptions): (reason: string) => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let firstSignalAt: number | undefined;

  const shutdown = (reason: string) => {
    if (firstSignalAt !== undefined) return;
    firstSignalAt = Date.now();
    options.logger.info({ reason, timeoutMs: options.timeoutMs }, 'draining');

    const timer = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'drain timed out; stopping now');
      exit(1);
    }, options.timeoutMs);
    timer.unref();

    options.drain().then(
      () => {
        clearTimeout(timer);
        options.logger.info('stopped');
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        options.logger.error({ err: error }, 'drain failed');
        exit(1);
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt === undefined) return shutdown(signal);
    if (Date.now() - firstSignalAt < DUPLICATE_SIGNAL_MS) return;
    options.logger.warn({ signal }, 'second signal; stopping without draining');
    exit(1);
  };

  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return shutdown;
}
