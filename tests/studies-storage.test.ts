import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCapabilities } from '../core/db/capabilities.ts';
import type { Database } from '../core/db/database.ts';
import { getParameterSet } from '../core/registry/parameter-sets.ts';
import { registryHousekeeping } from '../core/registry/registry-housekeeping.ts';
import { askTrial } from '../core/studies/ask-trial.ts';
import { enqueueTrial } from '../core/studies/enqueue-trial.ts';
import { promoteBestTrial } from '../core/studies/promote-best-trial.ts';
import { contains, type SearchSpace } from '../core/studies/search-space.ts';
import { createStudy, listTrials, summarizeStudy } from '../core/studies/studies.ts';
import { heartbeatTrial, reportIntermediate, tellTrial } from '../core/studies/tell-trial.ts';
import { warmStartStudy } from '../core/studies/warm-start-study.ts';
import { asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
});

afterAll(async () => {
  await testDb.drop();
});

const SPACE: SearchSpace = {
  x: { type: 'float', low: -5, high: 5 },
  n: { type: 'int', low: 1, high: 10 },
  kind: { type: 'categorical', choices: ['a', 'b'] },
};

const f = (p: Record<string, unknown>) =>
  ((p.x as number) - 1) ** 2 + ((p.n as number) - 3) ** 2 + (p.kind === 'b' ? 0 : 1);

async function newStudy(extra: Record<string, unknown> = {}) {
  return await createStudy(
    db,
    { name: 'test', space: SPACE, sampler: { type: 'tpe', seed: 5, nStartupTrials: 4 }, ...extra },
    null,
  );
}

const ask = (studyId: string, workerId = 'w1', on: Database = db) =>
  on.transaction((tx) => askTrial(tx, studyId, { workerId }));

describe('ask and tell', () => {
  it('asks trials numbered from 0 with legal parameters and records what is told', async () => {
    const study = await newStudy();

    for (let i = 0; i < 12; i++) {
      const trial = await ask(study.id);
      expect(trial.number).toBe(i);
      expect(trial.state).toBe('running');
      for (const [name, d] of Object.entries(SPACE))
        expect(contains(d, trial.params[name])).toBe(true);
      await db.transaction((tx) =>
        tellTrial(tx, study.id, trial.number, { state: 'complete', value: f(trial.params) }),
      );
    }

    const { counts, best } = await summarizeStudy(db, study);
    expect(counts).toMatchObject({ complete: 12, running: 0 });
    const values = (await listTrials(db, study.id)).map((t) => t.value as number);
    expect(best?.value).toBe(Math.min(...values));
  });

  it('replays the same trials for the same seed and history', async () => {
    const runOnce = async () => {
      const study = await newStudy();
      const params = [];
      for (let i = 0; i < 8; i++) {
        const trial = await ask(study.id);
        params.push(trial.params);
        await db.transaction((tx) =>
          tellTrial(tx, study.id, trial.number, { state: 'complete', value: f(trial.params) }),
        );
      }
      return params;
    };

    expect(await runOnce()).toEqual(await runOnce());
  });

  it('refuses a second tell, a tell of an unknown trial and a non-finite value', async () => {
    const study = await newStudy();
    const trial = await ask(study.id);
    await db.transaction((tx) => tellTrial(tx, study.id, 0, { state: 'complete', value: 1 }));

    const again = await db
      .transaction((tx) => tellTrial(tx, study.id, 0, { state: 'complete', value: 2 }))
      .catch((e: unknown) => e);
    const unknown = await db
      .transaction((tx) => tellTrial(tx, study.id, 99, { state: 'complete', value: 2 }))
      .catch((e: unknown) => e);
    const nan = await db
      .transaction((tx) =>
        tellTrial(tx, study.id, trial.number, { state: 'complete', value: Number.NaN }),
      )
      .catch((e: unknown) => e);

    expect(again).toMatchObject({ code: 'trial_not_running', status: 409 });
    expect(unknown).toMatchObject({ code: 'unknown_trial', status: 404 });
    expect(nan).toMatchObject({ code: 'validation_failed' });
    expect((await listTrials(db, study.id))[0]?.value).toBe(1);
  });

  it('asks enqueued trials first, with their fixed parameters', async () => {
    const study = await newStudy();
    await db.transaction((tx) => enqueueTrial(tx, study.id, { x: 1, n: 3, kind: 'b' }));

    const first = await ask(study.id);
    const second = await ask(study.id);

    expect(first).toMatchObject({
      number: 0,
      source: 'enqueued',
      params: { x: 1, n: 3, kind: 'b' },
    });
    expect(second).toMatchObject({ number: 1, source: 'sampler' });
    const bad = await db
      .transaction((tx) => enqueueTrial(tx, study.id, { x: 50, n: 3, kind: 'b' }))
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'validation_failed' });
  });

  it('fails running trials whose worker stopped heartbeating, and retries fixed ones', async () => {
    const study = await newStudy({ heartbeatTimeoutMs: 1000 });
    await db.transaction((tx) => enqueueTrial(tx, study.id, { x: 0, n: 1, kind: 'a' }));
    const fixed = await ask(study.id, 'gone');
    const sampled = await ask(study.id, 'alive');
    await db.query(
      `update public.study_trials set heartbeat_at = now() - interval '5 seconds'
       where study_id = $1`,
      [study.id],
    );
    await db.transaction((tx) => heartbeatTrial(tx, study.id, sampled.number));

    const next = await ask(study.id, 'new');
    const trials = await listTrials(db, study.id);

    expect(trials.find((t) => t.number === fixed.number)).toMatchObject({ state: 'failed' });
    expect(trials.find((t) => t.number === sampled.number)).toMatchObject({ state: 'running' });
    expect(next).toMatchObject({ source: 'retry', params: fixed.params, origin: { retryOf: 0 } });
    const late = await db
      .transaction((tx) => tellTrial(tx, study.id, fixed.number, { state: 'complete', value: 1 }))
      .catch((e: unknown) => e);
    expect(late).toMatchObject({ code: 'trial_not_running', extensions: { state: 'failed' } });
  });

  it('housekeeping fails stale trials of studies nobody asks of any more', async () => {
    const study = await newStudy({ heartbeatTimeoutMs: 1000 });
    const trial = await ask(study.id, 'gone');
    await db.query(
      `update public.study_trials set heartbeat_at = now() - interval '5 seconds'
       where study_id = $1`,
      [study.id],
    );

    const result = await registryHousekeeping(db, { enabled: true, retentionDays: 90 });
    const again = await registryHousekeeping(db, { enabled: true, retentionDays: 90 });

    expect(result.failedTrials).toBeGreaterThanOrEqual(1);
    expect(again.failedTrials).toBe(0);
    expect((await listTrials(db, study.id))[trial.number]?.state).toBe('failed');
  });

  it('answers reports with the median pruner, and a pruned trial keeps its last report', async () => {
    const study = await newStudy({
      pruner: { type: 'median', nStartupTrials: 2 },
      sampler: { type: 'random', seed: 1 },
    });
    for (const curve of [
      [5, 3, 1],
      [6, 4, 2],
    ]) {
      const trial = await ask(study.id);
      for (const [step, value] of curve.entries()) {
        const decision = await db.transaction((tx) =>
          reportIntermediate(tx, study.id, trial.number, { step, value }),
        );
        expect(decision.shouldPrune).toBe(false);
      }
      await db.transaction((tx) =>
        tellTrial(tx, study.id, trial.number, { state: 'complete', value: curve[2] as number }),
      );
    }

    const good = await ask(study.id);
    const bad = await ask(study.id);
    const keep = await db.transaction((tx) =>
      reportIntermediate(tx, study.id, good.number, { step: 0, value: 4 }),
    );
    const prune = await db.transaction((tx) =>
      reportIntermediate(tx, study.id, bad.number, { step: 0, value: 9 }),
    );
    const told = await db.transaction((tx) =>
      tellTrial(tx, study.id, bad.number, { state: 'pruned' }),
    );

    expect(keep.shouldPrune).toBe(false);
    expect(prune.shouldPrune).toBe(true);
    expect(told).toMatchObject({ state: 'pruned', value: 9 });
  });
});

describe('warm start and promotion', () => {
  it('warm-starts from a similar material study and promotes the best trial to a version', async () => {
    const capabilities = await detectCapabilities(db);
    const source = await createStudy(
      db,
      { name: 'walnut k', material: 'walnut', task: 'material.classify', direction: 'maximize' },
      null,
    );
    const score = (p: Record<string, unknown>) =>
      1 - Math.abs((p.k as number) - 20) / 50 - Math.abs(Math.log10(p.temperature as number)) / 4;
    for (let i = 0; i < 12; i++) {
      const trial = await ask(source.id);
      await db.transaction((tx) =>
        tellTrial(tx, source.id, trial.number, { state: 'complete', value: score(trial.params) }),
      );
    }
    const sourceBest = (await summarizeStudy(db, source)).best;

    const target = await createStudy(
      db,
      { name: 'oak k', material: 'oak', task: 'material.classify', direction: 'maximize' },
      null,
    );
    const report = await db.transaction((tx) =>
      warmStartStudy(tx, capabilities, target.id, { threshold: 0.75 }),
    );
    const first = await ask(target.id);

    expect(report.sources).toEqual([
      expect.objectContaining({ studyId: source.id, material: 'walnut', trials: 12 }),
    ]);
    expect(report.priors).toBe(12);
    expect(first).toMatchObject({ source: 'warm_start', params: sourceBest?.params });

    await db.transaction((tx) =>
      tellTrial(tx, target.id, first.number, { state: 'complete', value: 0.9 }),
    );
    const { set, trialNumber } = await db.transaction((tx) =>
      promoteBestTrial(tx, target.id, { set: 'standard', activate: true, actor: null }),
    );
    expect(trialNumber).toBe(first.number);
    expect(set.active).toMatchObject({
      version: 2,
      source: 'study',
      score: 0.9,
      values: first.params,
    });
    const again = await getParameterSet(db, {
      material: 'oak',
      task: 'material.classify',
      set: 'standard',
    });
    expect(again.active?.id).toBe(set.active?.id);
  });

  it('refuses to promote a study without a complete trial or without a material', async () => {
    const bare = await newStudy();
    const error = await db
      .transaction((tx) =>
        promoteBestTrial(tx, bare.id, { set: 'standard', activate: true, actor: null }),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'nothing_to_promote', status: 409 });
  });
});

describe('row-level security on studies', () => {
  it('shows each user only their own studies and trials', async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const study = await asUser(db, alice, (tx) =>
      createStudy(tx, { name: 'mine', space: SPACE }, alice),
    );
    await asUser(db, alice, (tx) => askTrial(tx, study.id, {}));

    const aliceSees = await asUser(db, alice, (tx) => listTrials(tx, study.id));
    const bobSees = await asUser(db, bob, (tx) => listTrials(tx, study.id));
    const bobAsks = await asUser(db, bob, (tx) => askTrial(tx, study.id, {})).catch(
      (e: unknown) => e,
    );
    const forged = await asUser(db, bob, (tx) =>
      createStudy(tx, { name: 'forged', space: SPACE }, alice),
    ).catch((e: unknown) => e);

    expect(aliceSees).toHaveLength(1);
    expect(bobSees).toEqual([]);
    expect(bobAsks).toMatchObject({ code: 'unknown_study' });
    expect(String(forged)).toContain('row-level security');
  });
});

describe.runIf(process.env.DATABASE_URL)('many workers at once (real Postgres)', () => {
  it('hands out unique, gapless trial numbers and loses no tell', async () => {
    const study = await newStudy({ sampler: { type: 'tpe', seed: 11, nStartupTrials: 5 } });
    const pools = [testDb.connect(), testDb.connect(), testDb.connect(), testDb.connect()];
    const perWorker = 15;

    const workers = Array.from({ length: 12 }, async (_, w) => {
      const pool = pools[w % pools.length] as Database;
      const told: number[] = [];
      for (let i = 0; i < perWorker; i++) {
        const trial = await ask(study.id, `worker-${w}`, pool);
        await pool.transaction((tx) =>
          reportIntermediate(tx, study.id, trial.number, { step: 0, value: f(trial.params) }),
        );
        await pool.transaction((tx) =>
          tellTrial(tx, study.id, trial.number, { state: 'complete', value: f(trial.params) }),
        );
        told.push(trial.number);
      }
      return told;
    });
    const told = (await Promise.all(workers)).flat();

    const trials = await listTrials(db, study.id);
    const total = 12 * perWorker;
    expect(told).toHaveLength(total);
    expect(new Set(told).size).toBe(total);
    expect(trials.map((t) => t.number)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(trials.every((t) => t.state === 'complete' && t.value === f(t.params))).toBe(true);
    const reports = await db.query<{ n: number }>(
      'select count(*)::int as n from public.study_trial_reports where study_id = $1',
      [study.id],
    );
    expect(reports[0]?.n).toBe(total);
  });

  it('fails the trials of workers that vanish while others keep asking and telling', async () => {
    const study = await newStudy({
      heartbeatTimeoutMs: 1000,
      sampler: { type: 'random', seed: 2 },
    });
    const pools = [testDb.connect(), testDb.connect(), testDb.connect()];
    // Two fixed trials: one taken by a worker that vanishes, to be retried.
    await db.transaction((tx) => enqueueTrial(tx, study.id, { x: 0, n: 1, kind: 'a' }));
    const vanished = [await ask(study.id, 'vanishing', pools[0])];
    for (let i = 0; i < 4; i++) vanished.push(await ask(study.id, 'vanishing', pools[0]));
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const workers = pools.map(async (pool, w) => {
      const told: number[] = [];
      for (let i = 0; i < 10; i++) {
        const trial = await ask(study.id, `steady-${w}`, pool);
        await pool.transaction((tx) =>
          tellTrial(tx, study.id, trial.number, { state: 'complete', value: f(trial.params) }),
        );
        told.push(trial.number);
      }
      return told;
    });
    const told = (await Promise.all(workers)).flat();

    const trials = await listTrials(db, study.id);
    expect(trials.map((t) => t.number)).toEqual(trials.map((_, i) => i));
    for (const v of vanished) {
      expect(trials.find((t) => t.number === v.number)?.state).toBe('failed');
    }
    const retry = trials.filter((t) => t.source === 'retry');
    expect(retry).toHaveLength(1);
    expect(retry[0]).toMatchObject({ params: { x: 0, n: 1, kind: 'a' }, state: 'complete' });
    expect(new Set(told).size).toBe(30);
    expect(trials.filter((t) => t.state === 'complete')).toHaveLength(30);
  });
});
