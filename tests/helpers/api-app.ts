import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../core/db/database.ts';
import { createApp } from '../../core/http/app.ts';
import { createLogger } from '../../core/logging/logger.ts';
import { createDataDirStorage } from '../../core/storage/data-dir-storage.ts';
import type { ObjectStorage } from '../../core/storage/object-storage.ts';
import { testVerifier } from './auth-tokens.ts';

/** The app as `npm start` builds it, over a test database, with a data dir of its own. */
export interface TestApi {
  app: ReturnType<typeof createApp>;
  storage: ObjectStorage;
  dataDir: string;
  cleanup(): Promise<void>;
}

/** Builds Kai's app over `db` with the test JWT verifier and data-dir storage in a temp dir. */
export async function createTestApi(
  db: Database,
  options: { maxUploadBytes?: number } = {},
): Promise<TestApi> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kai-api-'));
  const storage = createDataDirStorage({ dataDir, bucket: 'kai-inputs' });
  const app = createApp({
    db,
    logger: createLogger({ level: 'silent' }),
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
    storage,
    maxUploadBytes: options.maxUploadBytes,
  });
  return {
    app,
    storage,
    dataDir,
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}

/** JSON request init with the given headers. */
export function jsonInit(
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
