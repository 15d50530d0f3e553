import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/load-config.ts';
import { createApp } from '../core/http/app.ts';
import { reportPoolModels } from '../core/jobs/model-status.ts';
import { createLogger } from '../core/logging/logger.ts';
import { composePool } from '../gpu-pool/compose-pool.ts';
import { metricsRoute } from '../gpu-pool/pool-app.ts';
import { buildSyntheticMlp, writeCorruptModel } from '../scripts/build-models.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: 'silent' });
let testDb: TestDatabase;

const report = (name: string, ready: boolean) => ({
  name,
  version: '2',
  versions: ['1', '2'],
  ready,
  reason: ready ? undefined : 'The model file is corrupt.',
  provider: ready ? 'cpu' : undefined,
  description: `${name} for tests`,
  synthetic: true,
});

beforeAll(async () => {
  testDb = await createTestDatabase();
});

beforeEach(async () => {
  await testDb.db.exec('delete from kai.pool_models');
});

afterAll(async () => {
  await testDb.drop();
});

const app = () =>
  createApp({ db: testDb.db, logger, readiness: () => ({ migrations: true, pool: true }) });

describe('GET /v1/models', () => {
  it('lists what the live pools report; a model is ready where any pool serves it', async () => {
    await reportPoolModels(testDb.db, 'pool-a', [report('synthetic-mlp', false)]);
    await reportPoolModels(testDb.db, 'pool-b', [report('synthetic-mlp', true)]);

    const response = await app().request('/v1/models');
    const body = (await response.json()) as {
      models: unknown[];
      jobTypes: { type: string; available: boolean }[];
    };

    expect(response.status).toBe(200);
    expect(body.models).toEqual([
      {
        name: 'synthetic-mlp',
        version: '2',
        versions: ['1', '2'],
        ready: true,
        reason: null,
        provider: 'cpu',
        description: 'synthetic-mlp for tests',
        synthetic: true,
        readyPools: 1,
      },
    ]);
    expect(body.jobTypes).toContainEqual(
      expect.objectContaining({ type: 'synthetic.mlp', available: true }),
    );
    expect(body.jobTypes).toContainEqual(
      expect.objectContaining({ type: 'noop', available: true }),
    );
  });

  it('says why a model is not ready and marks its job types unavailable', async () => {
    await reportPoolModels(testDb.db, 'pool-a', [report('synthetic-mlp', false)]);

    const body = (await (await app().request('/v1/models')).json()) as {
      models: { ready: boolean; reason: string }[];
      jobTypes: { type: string; available: boolean }[];
    };

    expect(body.models[0]).toMatchObject({ ready: false, reason: 'The model file is corrupt.' });
    expect(body.jobTypes).toContainEqual(
      expect.objectContaining({ type: 'synthetic.mlp', available: false }),
    );
  });

  it('forgets a pool that stopped reporting', async () => {
    await reportPoolModels(testDb.db, 'gone', [report('synthetic-mlp', true)]);
    await testDb.db.exec(`update kai.pool_models set reported_at = now() - interval '1 hour'`);

    const body = (await (await app().request('/v1/models')).json()) as { models: unknown[] };

    expect(body.models).toEqual([]);
  });
});

describe('a composed pool', () => {
  it('publishes its repository, keeps serving beside a corrupt model, and exposes metrics', async () => {
    const modelDir = await mkdtemp(join(tmpdir(), 'kai-models-'));
    await buildSyntheticMlp(modelDir);
    await writeCorruptModel(modelDir, 'broken-model');
    const config = loadConfig({ MODEL_DIR: modelDir });
    const composed = await composePool(config, testDb.db, logger);
    await composed.pool.start();

    try {
      const api = app();
      api.route('/', metricsRoute(composed.prometheus.registry));
      const models = (await (await api.request('/v1/models')).json()) as {
        models: { name: string; ready: boolean; reason: string | null }[];
      };
      const metrics = await (await api.request('/metrics')).text();

      expect(models.models.map((m) => [m.name, m.ready])).toEqual([
        ['broken-model', false],
        ['synthetic-mlp', true],
      ]);
      expect(models.models[0]?.reason).toBeTruthy();
      expect(metrics).toContain('kai_queue_depth{queue="batch"} 0');
      expect(metrics).toContain('kai_pool_lease_losses_total 0');
    } finally {
      await composed.drain();
    }

    const after = (await (await app().request('/v1/models')).json()) as { models: unknown[] };
    expect(after.models).toEqual([]);
  });
});
