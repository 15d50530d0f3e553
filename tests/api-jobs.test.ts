// The job routes through the app, as two users: what each may submit, read, list and cancel.
// Every query runs as role authenticated with the caller's claims, so these tests show RLS at
// work on both legs (PGlite and the real Postgres).
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../core/auth/caller.ts';
import { asCaller } from '../core/auth/user-scope.ts';
import { DEFAULTS } from '../core/config/defaults.ts';
import { claimJobs } from '../core/queue/claim-jobs.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import { completeJob } from '../core/queue/settle-jobs.ts';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let testDb: TestDatabase;
let api: TestApi;
const alice = randomUUID();
const bob = randomUUID();
let asAlice: Record<string, string>;
let asBob: Record<string, string>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  api = await createTestApi(testDb.db, { maxUploadBytes: 64 * 1024 });
  await syncQueueClasses(testDb.db, DEFAULTS.KAI_QUEUES);
  asAlice = await bearer(alice);
  asBob = await bearer(bob);
});

afterAll(async () => {
  await api?.cleanup();
  await testDb?.drop();
});

interface JobBody {
  id: string;
  type: string;
  status: string;
  queue: string;
  priority: number;
  payload: Record<string, unknown>;
  createdAt: string;
  cancelRequestedAt: string | null;
}

async function submit(headers: Record<string, string>, body: unknown): Promise<Response> {
  return await api.app.request('/v1/jobs', jsonInit('POST', body, headers));
}

async function submitted(headers: Record<string, string>, body: unknown): Promise<JobBody> {
  const response = await submit(headers, body);
  expect(response.status, await response.clone().text()).toBe(202);
  return (await response.json()) as JobBody;
}

describe('POST /v1/jobs', () => {
  it('answers 202 with the queued job, owned by the caller, and where to find it', async () => {
    const response = await submit(asAlice, { type: 'noop', payload: { sleepMs: 1 }, priority: 5 });
    const job = (await response.json()) as JobBody;

    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({
      type: 'noop',
      status: 'queued',
      queue: 'maintenance',
      priority: 5,
      payload: { sleepMs: 1 },
    });
    const [row] = await testDb.db.query<{ owner_id: string }>(
      'select owner_id from public.jobs where id = $1',
      [job.id],
    );
    expect(row?.owner_id).toBe(alice);
  });

  it('refuses an unknown job type, an unknown queue and a payload the type refuses', async () => {
    const unknownType = await submit(asAlice, { type: 'no.such.type' });
    const unknownQueue = await submit(asAlice, { type: 'noop', queue: 'nowhere' });
    const badPayload = await submit(asAlice, { type: 'noop', payload: { sleepMs: -1 } });

    expect(unknownType.status).toBe(422);
    expect(await unknownType.json()).toMatchObject({ code: 'unknown_job_type' });
    expect(unknownQueue.status).toBe(422);
    expect(badPayload.status).toBe(422);
    expect(await badPayload.json()).toMatchObject({
      code: 'validation_failed',
      errors: [expect.objectContaining({ path: 'payload.sleepMs' })],
    });
  });

  it('lists every failing field of a body that does not fit the schema', async () => {
    const response = await submit(asAlice, { type: 7, priority: 'high', extra: true });
    const body = (await response.json()) as { code: string; errors: { path: string }[] };

    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(body.code).toBe('validation_failed');
    expect(body.errors.map((e) => e.path).sort()).toEqual(
      expect.arrayContaining(['body.type', 'body.priority']),
    );
  });

  it('needs credentials, and answers a body that is not JSON with a problem', async () => {
    const anonymous = await api.app.request('/v1/jobs', jsonInit('POST', { type: 'noop' }));
    const malformed = await api.app.request('/v1/jobs', {
      method: 'POST',
      headers: { ...asAlice, 'content-type': 'application/json' },
      body: '{"type": "noop"',
    });
    const noBody = await api.app.request('/v1/jobs', { method: 'POST', headers: asAlice });
    const wrongType = await api.app.request('/v1/jobs', {
      method: 'POST',
      headers: { ...asAlice, 'content-type': 'text/plain' },
      body: 'noop',
    });

    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'unauthorized' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'bad_request' });
    expect(noBody.status).toBe(422);
    expect(await noBody.json()).toMatchObject({ code: 'validation_failed' });
    expect(wrongType.status).toBe(415);
    expect(await wrongType.json()).toMatchObject({ code: 'unsupported_media_type' });
  });

  it('passes an input URL to the job and stores a base64 input in storage', async () => {
    const bytes = Buffer.from('tile sample bytes \u0000\u0001\u0002');
    const byUrl = await submitted(asAlice, {
      type: 'noop',
      input: { url: 'https://images.example.com/tile.png' },
    });
    const byBase64 = await submitted(asAlice, {
      type: 'noop',
      input: { base64: bytes.toString('base64'), contentType: 'image/png' },
    });

    expect(byUrl.payload.input).toEqual({ url: 'https://images.example.com/tile.png' });
    const input = byBase64.payload.input as { key: string; bytes: number; storage: string };
    expect(input).toMatchObject({
      storage: 'data-dir',
      bytes: bytes.length,
      contentType: 'image/png',
    });
    expect(input.key.startsWith(`${alice}/`)).toBe(true);
    const stored = await api.storage.get(input.key);
    expect(Buffer.from(stored?.body ?? [])).toEqual(bytes);
  });

  it('refuses input URLs that point at this machine, private networks or metadata', async () => {
    for (const url of [
      'http://127.0.0.1:5432/',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.7/tile.png',
      'http://[::1]/tile.png',
      'http://localhost:3000/v1/jobs',
    ]) {
      const response = await submit(asAlice, { type: 'noop', input: { url } });
      expect(response.status, url).toBe(422);
      expect(await response.json()).toMatchObject({ code: 'unsafe_url' });
    }
  });

  it('refuses base64 that is not base64, and an input over the upload limit', async () => {
    const notBase64 = await submit(asAlice, {
      type: 'noop',
      input: { base64: 'this is *not* base64!', contentType: 'image/png' },
    });
    const tooLarge = await submit(asAlice, {
      type: 'noop',
      input: { base64: Buffer.alloc(65 * 1024).toString('base64'), contentType: 'image/png' },
    });

    expect(notBase64.status).toBe(422);
    expect(await notBase64.json()).toMatchObject({
      errors: [{ path: 'body.input.base64', message: expect.any(String) }],
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ code: 'input_too_large' });
  });

  it('stores a multipart upload and creates its job with the stored reference', async () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5]);
    const form = new FormData();
    form.set('type', 'noop');
    form.set('payload', JSON.stringify({ sleepMs: 0 }));
    form.set('priority', '3');
    form.set('file', new File([bytes], 'tile.png', { type: 'image/png' }));

    const response = await api.app.request('/v1/jobs', {
      method: 'POST',
      headers: asAlice,
      body: form,
    });
    const job = (await response.json()) as JobBody;

    expect(response.status, JSON.stringify(job)).toBe(202);
    expect(job.priority).toBe(3);
    const input = job.payload.input as { key: string; sha256: string; contentType: string };
    expect(input.contentType).toBe('image/png');
    const onDisk = await readFile(join(api.dataDir, 'storage', 'kai-inputs', input.key));
    expect(new Uint8Array(onDisk)).toEqual(bytes);

    const fetched = await api.app.request(`/v1/jobs/${job.id}`, { headers: asAlice });
    expect(((await fetched.json()) as JobBody).payload).toEqual({ sleepMs: 0, input });
  });

  it('deletes an upload again when its job is refused', async () => {
    const form = new FormData();
    form.set('type', 'no.such.type');
    form.set('file', new File([new Uint8Array([1, 2, 3])], 'x.bin'));

    const before = await api.app.request('/v1/jobs', {
      method: 'POST',
      headers: asBob,
      body: form,
    });

    expect(before.status).toBe(422);
    const { readdir } = await import('node:fs/promises');
    const bobDir = join(api.dataDir, 'storage', 'kai-inputs', bob);
    const left = await readdir(bobDir).catch(() => []);
    expect(left).toEqual([]);
  });

  it('refuses a multipart body without its file part, naming the field', async () => {
    const form = new FormData();
    form.set('type', 'noop');

    const response = await api.app.request('/v1/jobs', {
      method: 'POST',
      headers: asAlice,
      body: form,
    });

    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({
      code: 'validation_failed',
      errors: [expect.objectContaining({ path: 'body.file' })],
    });
  });
});

describe('GET /v1/jobs/{id} and GET /v1/jobs', () => {
  it('shows users their own jobs and nobody else’s', async () => {
    const mine = await submitted(asAlice, { type: 'noop' });

    const own = await api.app.request(`/v1/jobs/${mine.id}`, { headers: asAlice });
    const other = await api.app.request(`/v1/jobs/${mine.id}`, { headers: asBob });
    const bobsList = (await (await api.app.request('/v1/jobs', { headers: asBob })).json()) as {
      data: JobBody[];
    };

    expect(own.status).toBe(200);
    expect(((await own.json()) as JobBody).id).toBe(mine.id);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ code: 'not_found' });
    expect(bobsList.data.map((j) => j.id)).not.toContain(mine.id);
  });

  it('pages through all of a user’s jobs in a stable order without gaps or repeats', async () => {
    const carol = randomUUID();
    const asCarol = await bearer(carol);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await submitted(asCarol, { type: 'noop' })).id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
      const page = (await (
        await api.app.request(`/v1/jobs${query}`, { headers: asCarol })
      ).json()) as {
        data: JobBody[];
        nextCursor: string | null;
      };
      seen.push(...page.data.map((j) => j.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);

    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(ids));
    // Newest first: the reverse of submission order.
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status, type and creation time', async () => {
    const dave = randomUUID();
    const asDave = await bearer(dave);
    const first = await submitted(asDave, { type: 'noop' });
    const second = await submitted(asDave, { type: 'noop' });
    await api.app.request(`/v1/jobs/${first.id}/cancel`, { method: 'POST', headers: asDave });

    const list = async (query: string) =>
      (
        (await (await api.app.request(`/v1/jobs?${query}`, { headers: asDave })).json()) as {
          data: JobBody[];
        }
      ).data.map((j) => j.id);

    expect(await list('status=cancelled')).toEqual([first.id]);
    expect(await list('status=queued,cancelled')).toEqual([second.id, first.id]);
    expect(await list('type=synthetic.mlp')).toEqual([]);
    expect(await list(`createdAfter=${encodeURIComponent(second.createdAt)}`)).toEqual([second.id]);
    expect(await list(`createdBefore=${encodeURIComponent(second.createdAt)}`)).toEqual([first.id]);
  });

  it('refuses a bad filter or a cursor Kai did not give out, naming the field', async () => {
    const badStatus = await api.app.request('/v1/jobs?status=done', { headers: asAlice });
    const badCursor = await api.app.request('/v1/jobs?cursor=bm9wZQ', { headers: asAlice });
    const badLimit = await api.app.request('/v1/jobs?limit=1000', { headers: asAlice });

    expect(badStatus.status).toBe(422);
    expect(await badStatus.json()).toMatchObject({ errors: [{ path: 'query.status' }] });
    expect(badCursor.status).toBe(422);
    expect(await badCursor.json()).toMatchObject({ errors: [{ path: 'query.cursor' }] });
    expect(badLimit.status).toBe(422);
    expect(await badLimit.json()).toMatchObject({ errors: [{ path: 'query.limit' }] });
  });

  it('answers a job id that is not a UUID with a validation problem', async () => {
    const response = await api.app.request('/v1/jobs/not-a-uuid', { headers: asAlice });

    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ errors: [{ path: 'path.id' }] });
  });
});

describe('POST /v1/jobs/{id}/cancel', () => {
  it('cancels a queued job of the caller at once', async () => {
    const job = await submitted(asAlice, { type: 'noop' });

    const response = await api.app.request(`/v1/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: asAlice,
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: job.id, status: 'cancelled' });
  });

  it('records the request for a running job, and refuses one that completed', async () => {
    const erin = randomUUID();
    const asErin = await bearer(erin);
    const job = await submitted(asErin, { type: 'noop', queue: 'interactive' });
    const [claimed] = await claimJobs(testDb.db, {
      workerId: 'test-worker',
      types: ['noop'],
      limit: 1,
      leaseMs: 30_000,
    });
    expect(claimed?.id).toBe(job.id);

    const running = await api.app.request(`/v1/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: asErin,
    });
    const body = (await running.json()) as JobBody;
    expect(running.status).toBe(200);
    expect(body.status).toBe('running');
    expect(body.cancelRequestedAt).not.toBeNull();

    if (!claimed) throw new Error('no claim');
    await completeJob(testDb.db, { jobId: claimed.id, leaseToken: claimed.leaseToken }, {});
    const finished = await api.app.request(`/v1/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: asErin,
    });
    expect(finished.status).toBe(409);
    expect(await finished.json()).toMatchObject({ code: 'job_finished', jobStatus: 'completed' });
  });

  it('cannot cancel another user’s job: it is a 404, and the job stays queued', async () => {
    const job = await submitted(asAlice, { type: 'noop' });

    const response = await api.app.request(`/v1/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: asBob,
    });

    expect(response.status).toBe(404);
    const [row] = await testDb.db.query<{ status: string }>(
      'select status from public.jobs where id = $1',
      [job.id],
    );
    expect(row?.status).toBe('queued');
  });
});

describe('row level security on jobs, below the routes', () => {
  const as = (sub: string): Auth => ({ subject: sub, kind: 'jwt', scopes: ['*'], claims: {} });

  it('lets an owner cancel but not complete their job, and not touch another’s', async () => {
    const job = await submitted(asAlice, { type: 'noop' });

    const forged = asCaller(testDb.db, as(alice), (tx) =>
      tx.query(`update public.jobs set status = 'completed' where id = $1`, [job.id]),
    );
    await expect(forged).rejects.toThrow(/only cancel/);

    const bobs = await asCaller(testDb.db, as(bob), (tx) =>
      tx.query(`update public.jobs set status = 'cancelled' where id = $1 returning id`, [job.id]),
    );
    expect(bobs).toEqual([]);

    const forgedInsert = asCaller(testDb.db, as(bob), (tx) =>
      tx.query(`insert into public.jobs (type, owner_id) values ('noop', $1)`, [alice]),
    );
    await expect(forgedInsert).rejects.toThrow(/row-level security/);
  });

  it('refuses users writing jobs straight through PostgREST, even their own', async () => {
    const job = await submitted(asAlice, { type: 'noop' });

    const insert = asUser(testDb.db, alice, (tx) =>
      tx.query(`insert into public.jobs (type, owner_id) values ('noop', $1)`, [alice]),
    );
    const cancel = asUser(testDb.db, alice, (tx) =>
      tx.query(`update public.jobs set status = 'cancelled' where id = $1`, [job.id]),
    );

    await expect(insert).rejects.toThrow(/permission denied.*through Kai's API/);
    await expect(cancel).rejects.toThrow(/permission denied/);
  });
});
