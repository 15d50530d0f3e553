// GET /v1/jobs/{id}/events: a job followed as server-sent events while the real queue
// functions move it (claim, progress, completion), as the pool would.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import type { Database } from '../core/db/database.ts';
import { claimJobs } from '../core/queue/claim-jobs.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { completeJob, reportProgress } from '../core/queue/settle-jobs.ts';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { sseReader } from './helpers/sse-reader.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let api: TestApi;
/** Subscriptions the app holds on the real database right now. */
let listening = 0;

beforeAll(async () => {
  testDb = await createTestDatabase();
  // The real database, with its listen() counted: the app must let go of what it subscribes.
  const counted: Database = {
    ...testDb.db,
    query: testDb.db.query.bind(testDb.db),
    exec: testDb.db.exec.bind(testDb.db),
    transaction: testDb.db.transaction.bind(testDb.db),
    batch: testDb.db.batch.bind(testDb.db),
    notify: testDb.db.notify.bind(testDb.db),
    close: testDb.db.close.bind(testDb.db),
    async listen(channel, onPayload) {
      const unlisten = await testDb.db.listen(channel, onPayload);
      listening += 1;
      return async () => {
        listening -= 1;
        await unlisten();
      };
    },
  };
  api = await createTestApi(counted);
  await syncQueueClasses(testDb.db, DEFAULTS.KAI_QUEUES);
});

afterAll(async () => {
  await api?.cleanup();
  await testDb?.drop();
});

interface JobEvent {
  id: string;
  status: string;
  progress: number;
  progressMessage: string | null;
  result: unknown;
}

async function submitNoop(headers: Record<string, string>): Promise<string> {
  const response = await api.app.request(
    '/v1/jobs',
    jsonInit('POST', { type: 'noop', queue: 'interactive' }, headers),
  );
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

describe('GET /v1/jobs/{id}/events', () => {
  it('sends the current state, each progress step, then the final state, and ends', async () => {
    const owner = await bearer(randomUUID());
    const jobId = await submitNoop(owner);

    const response = await api.app.request(`/v1/jobs/${jobId}/events`, { headers: owner });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseReader(response);
    const next = async () => {
      const event = await events.next();
      expect(event?.event).toBe('job');
      return JSON.parse(event?.data ?? 'null') as JobEvent;
    };

    expect(await next()).toMatchObject({ id: jobId, status: 'queued', progress: 0 });

    const [claimed] = await claimJobs(testDb.db, {
      workerId: 'sse-test',
      types: ['noop'],
      limit: 1,
      leaseMs: 30_000,
    });
    if (!claimed) throw new Error('The job was not claimed.');
    const lease = { jobId, leaseToken: claimed.leaseToken };
    expect(await next()).toMatchObject({ status: 'running' });

    await reportProgress(testDb.db, lease, 40, 'detecting text');
    expect(await next()).toMatchObject({ progress: 40, progressMessage: 'detecting text' });

    await reportProgress(testDb.db, lease, 80, 'recognising');
    expect(await next()).toMatchObject({ progress: 80 });

    await completeJob(testDb.db, lease, { lines: 3 });
    expect(await next()).toMatchObject({ status: 'completed', result: { lines: 3 } });
    expect(await events.next()).toBeUndefined();
    expect(listening).toBe(0);
  });

  it('sends a finished job once and ends at once', async () => {
    const owner = await bearer(randomUUID());
    const jobId = await submitNoop(owner);
    await api.app.request(`/v1/jobs/${jobId}/cancel`, { method: 'POST', headers: owner });

    const events = sseReader(await api.app.request(`/v1/jobs/${jobId}/events`, { headers: owner }));

    expect(JSON.parse((await events.next())?.data ?? 'null')).toMatchObject({
      status: 'cancelled',
    });
    expect(await events.next()).toBeUndefined();
  });

  it('does not stream another user’s job: 404 as for one that does not exist', async () => {
    const owner = await bearer(randomUUID());
    const jobId = await submitNoop(owner);

    const other = await api.app.request(`/v1/jobs/${jobId}/events`, {
      headers: await bearer(randomUUID()),
    });
    const missing = await api.app.request(`/v1/jobs/${randomUUID()}/events`, { headers: owner });
    const anonymous = await api.app.request(`/v1/jobs/${jobId}/events`);

    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ code: 'not_found' });
    expect(missing.status).toBe(404);
    expect(anonymous.status).toBe(401);
    expect(listening).toBe(0);
  });

  it('stops listening when the client goes away, and leaves other listeners hearing', async () => {
    const heard: string[] = [];
    const unlistenPool = await testDb.db.listen('kai_jobs', (payload) => heard.push(payload));
    const owner = await bearer(randomUUID());
    const jobId = await submitNoop(owner);
    const events = sseReader(await api.app.request(`/v1/jobs/${jobId}/events`, { headers: owner }));
    expect((await events.next())?.event).toBe('job');

    expect(listening).toBe(1);
    await events.cancel();
    await expect.poll(() => listening).toBe(0);

    // A change after the client left breaks nothing.
    const cancelled = await api.app.request(`/v1/jobs/${jobId}/cancel`, {
      method: 'POST',
      headers: owner,
    });
    expect(cancelled.status).toBe(200);
    // Another listener of the same process (the pool, under npm start) still hears changes.
    await expect
      .poll(() => heard.some((p) => p.includes(jobId) && p.includes('cancelled')))
      .toBe(true);
    await unlistenPool();
  });
});
