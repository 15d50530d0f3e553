import { StartupError } from '../errors.ts';
import { handleShutdownSignals } from '../lifecycle/shutdown-signals.ts';
import type { Logger } from '../logging/logger.ts';

/** A long-running process's parts, as `runService` starts and stops them. */
export interface Service {
  /**
   * Starts each part in turn. `isStopping` turns true when a drain was asked for meanwhile:
   * return between two steps then. `shutdown` starts a drain for another reason than a signal.
   */
  start(isStopping: () => boolean, shutdown: (reason: string) => void): Promise<void>;
  /** Stops whatever has started, in reverse order; safe to call at any point of `start`. */
  stop(): Promise<void>;
}

/**
 * Runs a Kai process: builds it (config errors stop it at once), handles SIGINT and SIGTERM in
 * two stages, and on a failed start writes one line to stderr (a stack only for failures that
 * are not known start-up errors), stops what had started and exits 1. A signal during start-up
 * waits for the step under way (a migration commits or rolls back whole) before stopping.
 */
export function runService(
  failureLabel: string,
  build: () => { logger: Logger; shutdownTimeoutMs: number; service: Service },
): void {
  let stopping = false;
  let service: Service | undefined;

  const main = async () => {
    const built = build();
    service = built.service;

    let startup: Promise<void> = Promise.resolve();
    const shutdown = handleShutdownSignals({
      logger: built.logger,
      timeoutMs: built.shutdownTimeoutMs,
      drain: async () => {
        stopping = true;
        await startup.catch(() => {});
        await built.service.stop();
      },
    });

    startup = built.service.start(() => stopping, shutdown);
    await startup;
  };

  main().catch(async (error: unknown) => {
    // A failure caused by a drain under way is the drain's to report.
    if (stopping) return;

    if (error instanceof StartupError) process.stderr.write(`${error.message}\n`);
    else process.stderr.write(`${failureLabel}: ${(error as Error).stack ?? String(error)}\n`);

    await service?.stop().catch(() => {});
    process.exit(1);
  });
}
