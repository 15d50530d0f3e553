// The pool as `npm run pool` composes it from the config reads image jobs' input URLs within
// INPUT_URL_TIMEOUT_MS: a job whose URL never answers fails `input_timeout` after the configured
// wait, not the 30 s default. Real pool, real texture net, a local server that never answers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import { loadConfig } from '../core/config/load-config.ts';
import { createLogger } from '../core/logging/logger.ts';
import { enqueueJob } from '../core/queue/enqueue.ts';
import { composePool } from '../gpu-pool/compose-pool.ts';
import { buildTextureNet } from '../scripts/build-texture-net.ts';
import { type LocalServer, listenLocal } from './helpers/fake-http-server.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { waitForJobs } from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const TIMEOUT_MS = 300;

let testDb: TestDatabase;
let server: LocalServer;
let modelDir: string;
const asked: string[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  modelDir = await mkdtemp(join(tmpdir(), 'kai-compose-inputs-'));
  await buildTextureNet(modelDir);
  // Takes every request and never answers it.
  server = await listenLocal((request) => {
    asked.push(request.url ?? '');
  });
}, 120_000);

afterAll(async () => {
  await server.close();
  await testDb.drop();
  await rm(modelDir, { recursive: true, force: true });
});

describe('a composed pool reading input URLs', () => {
  it('gives up on a URL that never answers after INPUT_URL_TIMEOUT_MS', async () => {
    expect(DEFAULTS.INPUT_URL_TIMEOUT_MS).toBeGreaterThan(20_000);
    const config = loadConfig({ MODEL_DIR: modelDir, INPUT_URL_TIMEOUT_MS: String(TIMEOUT_MS) });
    const composed = await composePool(config, testDb.db, logger, {
      storage: null,
      outbound: { allow: ['127.0.0.1'] },
    });
    await composed.pool.start();

    try {
      const { job } = await enqueueJob(testDb.db, {
        type: 'texture.embed',
        payload: { input: { url: `${server.url}/never-answers.png` } },
        queue: 'batch',
        model: 'kai-texture-net',
        maxAttempts: 1,
      });

      // Well inside the 30 s default: only the configured wait can have ended it.
      const [settled] = await waitForJobs(testDb.db, [job.id], 15_000);

      expect(settled?.status).toBe('dead');
      expect(settled?.error).toMatchObject({ code: 'input_timeout' });
      expect(asked).toContain('/never-answers.png');
    } finally {
      await composed.drain();
    }
  }, 60_000);
});
