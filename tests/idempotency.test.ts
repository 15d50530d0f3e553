import { randomUUID } from 'node:crypto';
import { streamSSE } from 'hono/streaming';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../core/http/app.ts';
import { deleteExpiredIdempotencyKeys } from '../core/http/middleware/idempotency-store.ts';
import { createLogger } from '../core/logging/logger.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { asUser, createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const logger = createLogger({ level: 'silent' });
let testDb: TestDatabase;
let app: ReturnType<typeof createApp>;

/**
 * A route that does real, countable work: each run inserts a row. Its body may ask it to take
 * its time, to fail with a 500 first, or to answer with something that is not to be kept.
 */
function buildApp() {
  const built = createApp({
    db: testDb.db,
    logger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
  });
  built.post('/v1/test-work', async (c) => {
    const body = (await c.req.json()) as { delayMs?: number; status?: number; secret?: boolean };
    if (body.delayMs) await new Promise((resolve) => setTimeout(resolve, body.delayMs));
    if (body.status) return c.json({ failed: true }, body.status as 500);

    const [row] = await testDb.db.query<{ id: number }>(
      'insert into public.test_work (body) values ($1) returning id',
      [body],
    );
    if (body.secret) c.header('cache-control', 'no-store');
    c.header('location', `/v1/test-work/${row?.id}`);
    return c.json({ id: row?.id, body }, 201);
  });
  built.post('/v1/test-stream', (c) =>
    streamSSE(c, async (stream) => {
      await stream.writeSSE({ event: 'tick', data: String(++streams) });
    }),
  );
  return built;
}

let streams = 0;

beforeAll(async () => {
  testDb = await createTestDatabase();
  await testDb.db.exec('create table public.test_work (id serial primary key, body jsonb)');
  app = buildApp();
});

afterAll(async () => {
  await testDb.drop();
});

async function post(
  sub: string,
  key: string | undefined,
  body: unknown,
  path = '/v1/test-work',
): Promise<Response> {
  const headers: Record<string, string> = {
    ...(await bearer(sub)),
    'content-type': 'application/json',
  };
  if (key !== undefined) headers['idempotency-key'] = key;
  return app.request(path, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** Waits until a request holds `key`. */
async function untilClaimed(key: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = await testDb.db.query('select 1 from kai.idempotency_keys where key = $1', [key]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`No request took the key ${key}.`);
}

async function runs(): Promise<number> {
  const [row] = await testDb.db.query<{ n: number }>('select count(*)::int as n from test_work');
  return row?.n ?? 0;
}

describe('Idempotency-Key on POST', () => {
  it('replays the first response, headers and body, without running the request again', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const before = await runs();

    const first = await post(sub, key, { item: 'tile' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const firstBody = await first.json();
    expect(firstBody).toMatchObject({ body: { item: 'tile' } });

    const again = await post(sub, key, { item: 'tile' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(await again.json()).toEqual(firstBody);
    expect(await runs()).toBe(before + 1);
  });

  it('refuses the same key with another body or path with 422 idempotency_key_reused', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    expect((await post(sub, key, { item: 'stone' })).status).toBe(201);

    for (const response of [
      await post(sub, key, { item: 'wood' }),
      await post(sub, key, { item: 'stone' }, '/v1/test-work?variant=2'),
    ]) {
      expect(response.status).toBe(422);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(await response.json()).toMatchObject({ code: 'idempotency_key_reused', status: 422 });
    }
  });

  it('scopes keys per caller: another user with the same key runs their own request', async () => {
    const key = randomUUID();
    const mine = (await (await post(randomUUID(), key, { item: 'metal' })).json()) as {
      id: number;
    };
    const theirs = await post(randomUUID(), key, { item: 'metal' });

    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(((await theirs.json()) as { id: number }).id).not.toBe(mine.id);
  });

  it('keeps no 5xx: a retry after a failure runs again', async () => {
    const sub = randomUUID();
    const key = randomUUID();

    const failed = await post(sub, key, { status: 500 });
    expect(failed.status).toBe(500);
    const retried = await post(sub, key, { status: 500 });
    expect(retried.headers.get('idempotent-replayed')).toBeNull();

    const [row] = await testDb.db.query('select 1 from kai.idempotency_keys where key = $1', [key]);
    expect(row).toBeUndefined();
  });

  it('keeps no refused request, so a corrected retry may use the key', async () => {
    const sub = randomUUID();
    const key = randomUUID();

    expect((await post(sub, key, { status: 422 })).status).toBe(422);
    const corrected = await post(sub, key, { item: 'fabric' });
    expect(corrected.status).toBe(201);
    expect(corrected.headers.get('idempotent-replayed')).toBeNull();
  });

  it('keeps no response marked no-store (a secret), and says nothing of it', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const before = await runs();

    expect((await post(sub, key, { secret: true })).status).toBe(201);
    expect((await post(sub, key, { secret: true })).headers.get('idempotent-replayed')).toBeNull();
    expect(await runs()).toBe(before + 2);
  });

  it('passes event streams through untouched and keeps nothing of them', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const open = async () =>
      app.request('/v1/test-stream', {
        method: 'POST',
        headers: { ...(await bearer(sub)), 'idempotency-key': key },
      });

    const first = await open();
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const firstText = await first.text();
    const second = await open();
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(await second.text()).not.toBe(firstText);
  });

  it('refuses a key that is empty, too long or not printable ASCII with 400', async () => {
    for (const key of ['', 'x'.repeat(256), 'a\tb', 'clé']) {
      const response = await app.request('/v1/test-work', {
        method: 'POST',
        headers: {
          ...(await bearer(randomUUID())),
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: '{}',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'idempotency_key_invalid' });
    }
  });

  it('takes POSTs without a body or with an empty one', async () => {
    const sub = randomUUID();
    for (const body of [undefined, '']) {
      const response = await app.request(`/v1/jobs/${randomUUID()}/cancel`, {
        method: 'POST',
        headers: { ...(await bearer(sub)), 'idempotency-key': randomUUID() },
        body,
      });
      expect(response.status).toBe(404);
    }
  });

  it('runs every request without a key, and ignores keys without a caller', async () => {
    const before = await runs();
    await post(randomUUID(), undefined, { item: 'a' });
    await post(randomUUID(), undefined, { item: 'a' });
    expect(await runs()).toBe(before + 2);

    const anonymous = await app.request('/v1/test-work', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: '{}',
    });
    expect(anonymous.headers.get('idempotent-replayed')).toBeNull();
  });

  it('answers 409 idempotency_key_in_progress while the first request still runs', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const before = await runs();

    const slow = post(sub, key, { delayMs: 1000 });
    await untilClaimed(key);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => post(sub, key, { delayMs: 1000 })),
    );
    for (const response of concurrent) {
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ code: 'idempotency_key_in_progress' });
    }

    expect((await slow).status).toBe(201);
    expect((await post(sub, key, { delayMs: 1000 })).headers.get('idempotent-replayed')).toBe(
      'true',
    );
    expect(await runs()).toBe(before + 1);
  });

  it('lets exactly one of many simultaneous first requests run', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const before = await runs();

    const responses = await Promise.all(
      Array.from({ length: 12 }, () => post(sub, key, { delayMs: 50, item: 'race' })),
    );
    // The one that ran answers 201; the others 409 while it runs, or its replay once it is done.
    const ran = responses.filter((r) => r.status === 201 && !r.headers.has('idempotent-replayed'));
    expect(ran).toHaveLength(1);
    for (const response of responses) {
      if (response === ran[0]) continue;
      if (response.status === 201) expect(response.headers.get('idempotent-replayed')).toBe('true');
      else expect(response.status).toBe(409);
    }
    expect(await runs()).toBe(before + 1);
  });

  it('forgets a key once it expires, and the sweep deletes it', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const first = (await (await post(sub, key, { item: 'old' })).json()) as { id: number };

    await testDb.db.query(
      `update kai.idempotency_keys set expires_at = now() - interval '1 second' where key = $1`,
      [key],
    );
    const afterExpiry = await post(sub, key, { item: 'new' });
    expect(afterExpiry.status).toBe(201);
    expect(((await afterExpiry.json()) as { id: number }).id).not.toBe(first.id);

    await testDb.db.query(
      `update kai.idempotency_keys set expires_at = now() - interval '1 second' where key = $1`,
      [key],
    );
    expect(await deleteExpiredIdempotencyKeys(testDb.db)).toBeGreaterThanOrEqual(1);
    const left = await testDb.db.query('select 1 from kai.idempotency_keys where key = $1', [key]);
    expect(left).toHaveLength(0);
  });

  it('keeps a key for 24 hours', async () => {
    const key = randomUUID();
    await post(randomUUID(), key, { item: 'kept' });

    const [row] = await testDb.db.query<{ hours: number }>(
      `select extract(epoch from expires_at - created_at)::int / 3600 as hours
       from kai.idempotency_keys where key = $1`,
      [key],
    );
    expect(row?.hours).toBe(24);
  });

  it('hands a key left in progress by a dead request to a retry of the same request', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const slow = post(sub, key, { delayMs: 1000 });
    await untilClaimed(key);

    // As if the first request's process had died two minutes ago holding the key.
    await testDb.db.query(
      `update kai.idempotency_keys set locked_at = now() - interval '3 minutes' where key = $1`,
      [key],
    );
    expect((await post(sub, key, { delayMs: 1000, other: 1 })).status).toBe(422);
    const retry = await post(sub, key, { delayMs: 1000 });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();

    // The first request lost the key: its response is not the one kept.
    const first = (await (await slow).json()) as { id: number };
    const replay = await post(sub, key, { delayMs: 1000 });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as { id: number }).id).not.toBe(first.id);
  });

  it('is invisible to API roles: RLS leaves authenticated users nothing to read', async () => {
    await expect(
      asUser(testDb.db, randomUUID(), (tx) => tx.query('select * from kai.idempotency_keys')),
    ).rejects.toThrow(/permission denied/);
  });
});

describe('Idempotency-Key on routes that return a secret', () => {
  it('never keeps a new API key: each try creates its own, and no secret is at rest', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const create = async () =>
      app.request('/v1/api-keys', {
        method: 'POST',
        headers: {
          ...(await bearer(sub)),
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ name: 'deploy', scopes: ['jobs:read'] }),
      });

    const first = await create();
    const second = await create();
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    const secrets = await Promise.all(
      [first, second].map(async (r) => ((await r.json()) as { secret: string }).secret),
    );
    expect(secrets[0]).not.toBe(secrets[1]);

    const kept = await testDb.db.query('select 1 from kai.idempotency_keys where key = $1', [key]);
    expect(kept).toHaveLength(0);
  });
});

describe('Idempotency-Key on POST /v1/jobs', () => {
  it('submits one job for any number of retries with the same key', async () => {
    const sub = randomUUID();
    const key = randomUUID();
    const submit = async () =>
      app.request('/v1/jobs', {
        method: 'POST',
        headers: {
          ...(await bearer(sub)),
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ type: 'noop', payload: { sleepMs: 1 } }),
      });

    const responses = [await submit(), await submit(), await submit()];
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(responses.map((r) => r.headers.get('idempotent-replayed'))).toEqual([
      null,
      'true',
      'true',
    ]);
    const ids = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { id: string }).id),
    );
    expect(new Set(ids).size).toBe(1);
    expect(responses[2]?.headers.get('location')).toBe(`/v1/jobs/${ids[0]}`);

    const jobs = await testDb.db.query('select id from public.jobs where owner_id = $1', [sub]);
    expect(jobs).toHaveLength(1);
  });
});
