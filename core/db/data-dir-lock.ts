import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { StartupError } from '../errors.ts';

/** How long a lock whose owner stopped refreshing it (a killed process) blocks a new start. */
const STALE_LOCK_MS = 10_000;

/**
 * Takes the embedded database's folder for this process alone, so a second Kai on the same
 * folder stops with a clear message instead of corrupting the files. The lock is refreshed in
 * the background; `onLost` is called if another process takes it over.
 */
export async function lockDataDir(
  dataDir: string,
  onLost: (error: Error) => void,
): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });

  try {
    return await lockfile.lock(dataDir, {
      lockfilePath: join(dataDir, 'kai.lock'),
      stale: STALE_LOCK_MS,
      retries: 0,
      realpath: false,
      onCompromised: onLost,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new StartupError(
        `Kai cannot start: another Kai process is using the data dir ${dataDir}. Stop it, or ` +
          'set KAI_DATA_DIR to another folder (a crashed process frees it within 10 s).',
        { cause: error },
      );
    }
    throw new StartupError(`Kai cannot start: cannot lock the data dir ${dataDir}.`, {
      cause: error,
    });
  }
}
