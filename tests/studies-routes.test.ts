import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Body = any;
/** A response whose JSON body the assertions below read field by field. */
type JsonResponse = Omit<Response, 'json'> & { json(): Promise<Body> };

let testDb: TestDatabase;
let api: TestApi;
let alice: Record<string, string>;
let bob: Record<string, string>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  api = await createTestApi(testDb.db);
  alice = await bearer(randomUUID());
  bob = await bearer(randomUUID());
});

afterAll(async () => {
  await api.cleanup();
  await testDb.drop();
});

const post = (path: string, body: unknown, headers = alice) =>
  api.app.request(path, jsonInit('POST', body, headers)) as Promise<JsonResponse>;
const get = (path: string, headers = alice) =>
  api.app.request(path, { headers }) as Promise<JsonResponse>;

const score = (p: { k: number; temperature: number }) =>
  1 - Math.abs(p.k - 20) / 50 - Math.abs(Math.log10(p.temperature)) / 4;

async function runStudy(id: string, trials: number) {
  for (let i = 0; i < trials; i++) {
    const trial = await (await post(`/v1/studies/${id}/ask`, { workerId: 'w' })).json();
    const res = await post(`/v1/studies/${id}/trials/${trial.number}/tell`, {
      state: 'complete',
      value: score(trial.params),
    });
    expect(res.status).toBe(200);
  }
}

describe('/v1/studies', () => {
  it('runs ask/tell with reports, and shows the study only to its owner', async () => {
    const created = await post('/v1/studies', {
      name: 'quadratic',
      space: { x: { type: 'float', low: -2, high: 2 } },
      sampler: { type: 'tpe', seed: 3, nStartupTrials: 3 },
      pruner: { type: 'median', nStartupTrials: 1 },
    });
    expect(created.status).toBe(201);
    const study = await created.json();
    expect(study.sampler).toMatchObject({ type: 'tpe', seed: 3, nEiCandidates: 24 });

    const first = await (await post(`/v1/studies/${study.id}/ask`, {})).json();
    await post(`/v1/studies/${study.id}/trials/${first.number}/report`, { step: 0, value: 1 });
    await post(`/v1/studies/${study.id}/trials/${first.number}/tell`, {
      state: 'complete',
      value: 1,
    });
    // No body at all is fine too.
    const asked = (await api.app.request(`/v1/studies/${study.id}/ask`, {
      method: 'POST',
      headers: alice,
    })) as JsonResponse;
    expect(asked.status).toBe(200);
    const second = await asked.json();
    const decision = await post(`/v1/studies/${study.id}/trials/${second.number}/report`, {
      step: 0,
      value: 5,
    });
    const heartbeat = await post(`/v1/studies/${study.id}/trials/${second.number}/heartbeat`, {});
    const told = await post(`/v1/studies/${study.id}/trials/${second.number}/tell`, {
      state: 'pruned',
    });
    const again = await post(`/v1/studies/${study.id}/trials/${second.number}/tell`, {
      state: 'complete',
      value: 0,
    });

    expect(await decision.json()).toEqual({ shouldPrune: true });
    expect(heartbeat.status).toBe(204);
    expect(await told.json()).toMatchObject({ state: 'pruned', value: 5 });
    expect(again.status).toBe(409);
    expect((await again.json()).code).toBe('trial_not_running');
    const summary = await (await get(`/v1/studies/${study.id}`)).json();
    expect(summary.counts).toMatchObject({ complete: 1, pruned: 1 });
    expect(summary.best.number).toBe(first.number);
    expect((await get(`/v1/studies/${study.id}`, bob)).status).toBe(404);
    expect((await post(`/v1/studies/${study.id}/ask`, {}, bob)).status).toBe(404);
  });

  it('refuses bad studies and bad tells with problems', async () => {
    const noSpace = await post('/v1/studies', { name: 'x' });
    const badSpace = await post('/v1/studies', {
      name: 'x',
      space: { lr: { type: 'float', low: 0, high: 1, log: true } },
    });
    const study = await (
      await post('/v1/studies', { name: 'x', space: { n: { type: 'int', low: 1, high: 3 } } })
    ).json();
    const trial = await (await post(`/v1/studies/${study.id}/ask`, {})).json();
    const noValue = await post(`/v1/studies/${study.id}/trials/${trial.number}/tell`, {
      state: 'complete',
    });

    expect(noSpace.status).toBe(422);
    expect(badSpace.status).toBe(422);
    expect(noValue.status).toBe(422);
  });

  it('warm-starts from a similar material study and promotes the best trial', async () => {
    const source = await (
      await post('/v1/studies', {
        name: 'walnut',
        material: 'walnut',
        task: 'material.classify',
        direction: 'maximize',
        sampler: { type: 'tpe', seed: 1 },
      })
    ).json();
    await runStudy(source.id, 12);

    const target = await (
      await post('/v1/studies', {
        name: 'oak',
        material: 'oak',
        task: 'material.classify',
        direction: 'maximize',
        warmStart: true,
      })
    ).json();
    expect(target.warmStart.sources[0]).toMatchObject({ studyId: source.id, material: 'walnut' });
    // The source's best three trials are asked first.
    expect(target.warmStart.enqueued).toEqual([0, 1, 2]);
    expect(target.warmStart.priors).toBe(12);
    const first = await (await post(`/v1/studies/${target.id}/ask`, {})).json();
    expect(first.source).toBe('warm_start');
    await post(`/v1/studies/${target.id}/trials/${first.number}/tell`, {
      state: 'complete',
      value: 0.95,
    });

    const promoted = await post(`/v1/studies/${target.id}/promote`, {});
    expect(promoted.status).toBe(201);
    const { set } = await promoted.json();
    expect(set.active).toMatchObject({ source: 'study', score: 0.95, trialNumber: first.number });
    const active = await (
      await get('/v1/registry/materials/oak/sets/material.classify/standard')
    ).json();
    expect(active.active.id).toBe(set.active.id);
  });
});
