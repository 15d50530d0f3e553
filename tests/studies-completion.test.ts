// A study ends, by its trial budget or at its owner's request, and its end is announced as
// `study.completed` in the outbox, in the same transaction and exactly once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { createLocalTransport } from '../core/events/local-transport.ts';
import { createOutboxRelay } from '../core/events/outbox-relay.ts';
import { askTrial } from '../core/studies/ask-trial.ts';
import { completeStudy } from '../core/studies/complete-study.ts';
import type { SearchSpace } from '../core/studies/search-space.ts';
import { createStudy, getStudy } from '../core/studies/studies.ts';
import { sweepStaleTrials } from '../core/studies/sweep-stale-trials.ts';
import { tellTrial } from '../core/studies/tell-trial.ts';
import { createEndpoint } from '../core/webhooks/webhook-endpoints.ts';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { testLogger } from './webhook-support.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Body = any;
/** A response whose JSON body the assertions below read field by field. */
type JsonResponse = Omit<Response, 'json'> & { json(): Promise<Body> };

let testDb: TestDatabase;
let db: Database;
let api: TestApi;
let aliceId: string;
let alice: Record<string, string>;
let bob: Record<string, string>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  api = await createTestApi(db);
  aliceId = randomUUID();
  alice = await bearer(aliceId);
  bob = await bearer(randomUUID());
});

afterAll(async () => {
  await api?.cleanup();
  await testDb?.drop();
});

const SPACE: SearchSpace = { x: { type: 'float', low: -2, high: 2 } };

const post = (path: string, body: unknown, headers = alice) =>
  api.app.request(path, jsonInit('POST', body, headers)) as Promise<JsonResponse>;
const get = (path: string, headers = alice) =>
  api.app.request(path, { headers }) as Promise<JsonResponse>;
const complete = (id: string, headers: Record<string, string> = alice) =>
  api.app.request(`/v1/studies/${id}/complete`, {
    method: 'POST',
    headers,
  }) as Promise<JsonResponse>;

async function newStudy(body: Record<string, unknown> = {}) {
  const res = await post('/v1/studies', { name: 'completion', space: SPACE, ...body });
  expect(res.status).toBe(201);
  return await res.json();
}

const ask = async (id: string) => {
  const res = await post(`/v1/studies/${id}/ask`, { workerId: 'w' });
  expect(res.status).toBe(200);
  return await res.json();
};

const tell = (id: string, number: number, body: Record<string, unknown>) =>
  post(`/v1/studies/${id}/trials/${number}/tell`, body);

const completions = (studyId: string) =>
  db.query<{ owner_id: string; data: Body; critical: boolean }>(
    `select owner_id, data, critical from kai.events
     where type = 'study.completed' and subject = $1`,
    [studyId],
  );

describe('a trial budget', () => {
  it('completes the study at the tell that finishes its last trial, with one event', async () => {
    const study = await newStudy({ maxTrials: 3 });
    expect(study).toMatchObject({ status: 'running', maxTrials: 3, completedAt: null });

    const t0 = await ask(study.id);
    await tell(study.id, t0.number, { state: 'complete', value: 0.5 });
    const t1 = await ask(study.id);
    await tell(study.id, t1.number, { state: 'pruned', value: 2 });
    const t2 = await ask(study.id);
    expect(await (await get(`/v1/studies/${study.id}`)).json()).toMatchObject({
      status: 'running',
    });
    expect(await completions(study.id)).toEqual([]);
    const last = await tell(study.id, t2.number, { state: 'failed', reason: 'out of memory' });

    expect(last.status).toBe(200);
    const summary = await (await get(`/v1/studies/${study.id}`)).json();
    expect(summary).toMatchObject({ status: 'completed', counts: { complete: 1, pruned: 1 } });
    expect(Date.parse(summary.completedAt)).toBeGreaterThan(Date.parse(summary.createdAt) - 1);
    const events = await completions(study.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ owner_id: aliceId, critical: false });
    expect(events[0]?.data).toEqual({
      studyId: study.id,
      name: 'completion',
      reason: 'max_trials',
      direction: 'minimize',
      maxTrials: 3,
      finishedTrials: 3,
      counts: { waiting: 0, running: 0, complete: 1, pruned: 1, failed: 1 },
      bestTrial: { number: t0.number, value: 0.5, params: t0.params },
      completedAt: summary.completedAt,
    });

    const refused = await post(`/v1/studies/${study.id}/ask`, {});
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(await refused.json()).toMatchObject({
      code: 'study_completed',
      completedAt: summary.completedAt,
    });
    expect(await completions(study.id)).toHaveLength(1);
  });

  it('hands out no more trials than the budget while some still run', async () => {
    const study = await newStudy({ maxTrials: 2 });
    const a = await ask(study.id);
    const b = await ask(study.id);

    const third = await post(`/v1/studies/${study.id}/ask`, {});
    expect(third.status).toBe(409);
    expect(await third.json()).toMatchObject({
      code: 'trial_budget_spent',
      maxTrials: 2,
      running: 2,
    });

    await tell(study.id, b.number, { state: 'complete', value: 1 });
    expect((await getStudy(db, study.id)).status).toBe('running');
    await tell(study.id, a.number, { state: 'complete', value: -1 });
    expect((await getStudy(db, study.id)).status).toBe('completed');
    const [event] = await completions(study.id);
    expect(event?.data.bestTrial).toMatchObject({ number: a.number, value: -1 });
  });

  it('completes when its last trial fails for missed heartbeats, the ask refused', async () => {
    const study = await newStudy({ maxTrials: 1 });
    const trial = await ask(study.id);
    await db.query(
      `update public.study_trials set heartbeat_at = now() - interval '1 hour'
       where study_id = $1 and number = $2`,
      [study.id, trial.number],
    );

    const refused = await post(`/v1/studies/${study.id}/ask`, {});

    expect(refused.status).toBe(409);
    expect((await refused.json()).code).toBe('study_completed');
    // The refusal committed what the ask did on the way: the failure and the completion.
    expect((await getStudy(db, study.id)).status).toBe('completed');
    expect((await completions(study.id))[0]?.data).toMatchObject({
      finishedTrials: 1,
      bestTrial: null,
    });
  });

  it('is spent by housekeeping too, when it fails the last trial', async () => {
    const owner = randomUUID();
    const study = await createStudy(db, { name: 'swept', space: SPACE, maxTrials: 1 }, owner);
    await db.transaction((tx) => askTrial(tx, study.id));
    await db.query(
      `update public.study_trials set heartbeat_at = now() - interval '1 hour'
       where study_id = $1`,
      [study.id],
    );

    expect(await sweepStaleTrials(db)).toBeGreaterThanOrEqual(1);

    expect((await getStudy(db, study.id)).status).toBe('completed');
    expect(await completions(study.id)).toHaveLength(1);
  });
});

describe('POST /v1/studies/{id}/complete', () => {
  it('ends the study for its owner only, once; running trials may still be told', async () => {
    const study = await newStudy();
    const done = await ask(study.id);
    await tell(study.id, done.number, { state: 'complete', value: 1.5 });
    const running = await ask(study.id);

    expect((await complete(study.id, bob)).status).toBe(404);
    const res = await complete(study.id);
    const again = await complete(study.id);

    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      id: study.id,
      status: 'completed',
      maxTrials: null,
      counts: { complete: 1, running: 1 },
      best: { number: done.number },
    });
    expect(typeof body.completedAt).toBe('string');
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(await again.json()).toMatchObject({
      code: 'study_completed',
      completedAt: body.completedAt,
    });

    const events = await completions(study.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toMatchObject({
      reason: 'requested',
      maxTrials: null,
      finishedTrials: 1,
      counts: { running: 1 },
      bestTrial: { number: done.number, value: 1.5, params: done.params },
    });

    const told = await tell(study.id, running.number, { state: 'complete', value: 0.1 });
    expect(told.status).toBe(200);
    expect(await (await get(`/v1/studies/${study.id}`)).json()).toMatchObject({
      status: 'completed',
      completedAt: body.completedAt,
      best: { number: running.number },
    });
    expect(await completions(study.id)).toHaveLength(1);

    const asked = await post(`/v1/studies/${study.id}/ask`, {});
    const enqueued = await post(`/v1/studies/${study.id}/trials`, { params: { x: 0 } });
    expect([asked.status, enqueued.status]).toEqual([409, 409]);
    expect((await asked.json()).code).toBe('study_completed');
    expect((await enqueued.json()).code).toBe('study_completed');
  });

  it('answers a retry with the same Idempotency-Key as it answered the first request', async () => {
    const study = await newStudy();
    const headers = { ...alice, 'idempotency-key': randomUUID() };

    const first = await complete(study.id, headers);
    const retry = await complete(study.id, headers);

    expect([first.status, retry.status]).toEqual([200, 200]);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toEqual(await first.json());
    expect(await completions(study.id)).toHaveLength(1);
  });

  it('lists studies by status', async () => {
    const ended = await newStudy({ name: 'ended' });
    await complete(ended.id);

    const running = await (await get('/v1/studies?status=running')).json();
    const completed = await (await get('/v1/studies?status=completed')).json();

    expect(running.studies.every((s: Body) => s.status === 'running')).toBe(true);
    expect(completed.studies.map((s: Body) => s.id)).toContain(ended.id);
    expect(completed.studies.every((s: Body) => s.status === 'completed')).toBe(true);
  });
});

describe('/openapi.json', () => {
  it('documents the end of a study, its budget and its status', async () => {
    const doc: Body = await (await api.app.request('/openapi.json')).json();

    const end = doc.paths['/v1/studies/{id}/complete']?.post;
    expect(end?.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(end?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '404', '409']),
    );
    expect(Object.keys(doc.paths['/v1/studies/{id}/ask'].post.responses)).toContain('409');
    expect(doc.components.schemas.Study.properties).toMatchObject({
      status: { enum: ['running', 'completed'] },
      completedAt: {},
      maxTrials: {},
    });
    expect(doc.components.schemas.NewStudy.properties.maxTrials).toMatchObject({
      minimum: 1,
      maximum: 100_000,
    });
  });
});

describe('a completion that rolls back', () => {
  it('leaves the study running and no event, explicit or by budget', async () => {
    const owner = randomUUID();
    const explicit = await createStudy(db, { name: 'undone', space: SPACE }, owner);
    const budgeted = await createStudy(db, { name: 'undone', space: SPACE, maxTrials: 1 }, owner);
    const trial = await db.transaction((tx) => askTrial(tx, budgeted.id));

    await expect(
      db.transaction(async (tx) => {
        expect((await completeStudy(tx, explicit.id)).status).toBe('completed');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await expect(
      db.transaction(async (tx) => {
        await tellTrial(tx, budgeted.id, trial.number, { state: 'complete', value: 1 });
        expect((await getStudy(tx, budgeted.id)).status).toBe('completed');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');

    for (const id of [explicit.id, budgeted.id]) {
      expect((await getStudy(db, id)).status).toBe('running');
      expect(await completions(id)).toEqual([]);
    }
    const events = await db.query('select 1 from kai.events where owner_id = $1', [owner]);
    expect(events).toEqual([]);

    // Done again for real, each completes once.
    await db.transaction((tx) => completeStudy(tx, explicit.id));
    await db.transaction((tx) =>
      tellTrial(tx, budgeted.id, trial.number, { state: 'complete', value: 1 }),
    );
    expect(await completions(explicit.id)).toHaveLength(1);
    expect(await completions(budgeted.id)).toHaveLength(1);
  });
});

describe('bad input', () => {
  it.each([
    ['0', 0],
    ['negative', -3],
    ['huge', 1e12],
    ['fractional', 2.5],
    ['a string', '10'],
    ['a boolean', true],
    ['an object', { n: 3 }],
  ])('refuses maxTrials %s with a 422 problem', async (_, maxTrials) => {
    const res = await post('/v1/studies', { name: 'bad', space: SPACE, maxTrials });

    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await res.json()).code).toBe('validation_failed');
  });

  it('takes maxTrials null as no budget, and refuses a bad budget in core code too', async () => {
    expect(await newStudy({ maxTrials: null })).toMatchObject({ maxTrials: null });
    await expect(
      createStudy(db, { name: 'bad', space: SPACE, maxTrials: 0 }, null),
    ).rejects.toMatchObject({ code: 'validation_failed', status: 422 });
  });
});

describe('the table', () => {
  it('keeps a completed study so; users end studies only through the API', async () => {
    const owner = randomUUID();
    const study = await createStudy(db, { name: 'guarded', space: SPACE }, owner);

    // Straight through PostgREST (the role without Kai's API mark), the owner may not end it.
    await expect(
      asUser(db, owner, (tx) =>
        tx.query(
          `update public.studies set status = 'completed', completed_at = now() where id = $1`,
          [study.id],
        ),
      ),
    ).rejects.toThrow(/through Kai's API/);
    await expect(
      db.query(
        `insert into public.studies (name, space, direction, sampler, pruner, status, completed_at)
         values ('x', '{}', 'minimize', '{}', '{}', 'completed', now())`,
      ),
    ).rejects.toThrow(/new study is running/);
    await expect(
      db.query('update public.studies set max_trials = 0 where id = $1', [study.id]),
    ).rejects.toThrow(/studies_max_trials_check/);

    await db.transaction((tx) => completeStudy(tx, study.id));
    await expect(
      db.query(`update public.studies set status = 'running', completed_at = null where id = $1`, [
        study.id,
      ]),
    ).rejects.toThrow(/stays so/);
    expect(await completions(study.id)).toHaveLength(1);
  });
});

describe('the event', () => {
  it("reaches the owner's in-app notifications and webhooks", async () => {
    const owner = randomUUID();
    await createEndpoint(db, owner, { url: 'https://example.com/hook', eventTypes: ['study.*'] });
    const study = await createStudy(db, { name: 'announced', space: SPACE }, owner);
    await db.transaction((tx) => completeStudy(tx, study.id));
    const relay = createOutboxRelay({
      db,
      logger: testLogger,
      transport: createLocalTransport({
        db,
        logger: testLogger,
        signingKey: 'sig_test',
        deliveryUrl: 'http://kai.internal/d',
        callbackUrl: 'http://kai.internal/c',
        dispatch: async () => new Response('{}', { status: 200 }),
        schedule: { baseMs: 10, maxMs: 10 },
        concurrency: 1,
        flowParallelism: 1,
        pollIntervalMs: 50,
      }),
      fanOut: { notificationsEnabled: true, defaultChannel: 'in-app', maxAttempts: 4 },
      pollIntervalMs: 1000,
    });

    while ((await relay.runOnce()) > 0);

    const [event] = await db.query<{ id: string }>(
      `select id from kai.events where type = 'study.completed' and subject = $1`,
      [study.id],
    );
    const notifications = await db.query<{ user_id: string; title: string; body: string }>(
      'select user_id, title, body from public.notifications where event_id = $1',
      [event?.id],
    );
    expect(notifications).toEqual([
      { user_id: owner, title: 'Study completed', body: 'The study announced finished.' },
    ]);
    const deliveries = await db.query(
      `select 1 from public.deliveries where event_id = $1 and endpoint_id is not null`,
      [event?.id],
    );
    expect(deliveries).toHaveLength(1);
  });
});

describe.runIf(process.env.DATABASE_URL)('many workers at once (real Postgres)', () => {
  const BUDGET = 24;

  async function runningStudy() {
    const study = await createStudy(
      db,
      { name: 'race', space: SPACE, sampler: { type: 'random', seed: 1 }, maxTrials: BUDGET },
      randomUUID(),
    );
    const trials = [];
    for (let i = 0; i < BUDGET; i++) {
      trials.push(await db.transaction((tx) => askTrial(tx, study.id)));
    }
    return { study, trials };
  }

  const tellAll = (studyId: string, trials: { number: number }[], pools: Database[]) =>
    trials.map((t, i) =>
      (pools[i % pools.length] as Database).transaction((tx) =>
        tellTrial(tx, studyId, t.number, { state: 'complete', value: i }),
      ),
    );

  it('completes a budgeted study once when its last trials are told together', async () => {
    const pools = Array.from({ length: 8 }, () => testDb.connect());
    const { study, trials } = await runningStudy();

    await Promise.all(tellAll(study.id, trials, pools));

    expect((await getStudy(db, study.id)).status).toBe('completed');
    const events = await completions(study.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toMatchObject({
      reason: 'max_trials',
      finishedTrials: BUDGET,
      bestTrial: { value: 0 },
    });
  });

  it("announces once when the owner's end races the budget's", async () => {
    const pools = Array.from({ length: 8 }, () => testDb.connect());
    const { study, trials } = await runningStudy();

    const results = await Promise.allSettled([
      ...tellAll(study.id, trials, pools),
      (pools[0] as Database).transaction((tx) => completeStudy(tx, study.id)),
    ]);

    expect(results.slice(0, BUDGET).every((r) => r.status === 'fulfilled')).toBe(true);
    const end = results[BUDGET];
    if (end?.status === 'rejected') expect(end.reason).toMatchObject({ code: 'study_completed' });
    expect((await getStudy(db, study.id)).status).toBe('completed');
    expect(await completions(study.id)).toHaveLength(1);
  });
});
