// The Supabase Storage adapter against a local server speaking Storage's REST contract, and
// an upload through POST /v1/jobs landing there.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../core/http/app.ts';
import { createLogger } from '../core/logging/logger.ts';
import { createSupabaseStorage } from '../core/storage/supabase-storage.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import {
  type FakeSupabaseStorage,
  startFakeSupabaseStorage,
} from './helpers/fake-supabase-storage.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

let fake: FakeSupabaseStorage;
const BUCKET = 'kai-inputs';

beforeAll(async () => {
  fake = await startFakeSupabaseStorage([BUCKET]);
});

afterAll(async () => {
  await fake?.close();
});

const storage = () =>
  createSupabaseStorage({ url: fake.url, serviceKey: fake.serviceKey, bucket: BUCKET });

describe('Supabase Storage adapter', () => {
  it('uploads, downloads and deletes an object with the service key', async () => {
    const key = `${randomUUID()}/${randomUUID()}`;
    const body = new Uint8Array([1, 2, 3, 250]);

    const stored = await storage().put(key, body, 'image/webp');
    const read = await storage().get(key);
    await storage().delete(key);

    expect(stored).toMatchObject({ key, bytes: 4, contentType: 'image/webp' });
    expect(stored.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(read).toEqual({ body, contentType: 'image/webp' });
    expect(await storage().get(key)).toBeUndefined();

    const upload = fake.requests.find((r) => r.method === 'POST' && r.path.endsWith(key));
    expect(upload?.path).toBe(`/storage/v1/object/${BUCKET}/${key}`);
    expect(upload?.headers['x-upsert']).toBe('false');
    expect(upload?.headers.apikey).toBe(fake.serviceKey);
  });

  it('never overwrites: a second upload of a key fails with Storage’s reason', async () => {
    const key = `${randomUUID()}/${randomUUID()}`;
    await storage().put(key, new Uint8Array([1]), 'image/png');

    await expect(storage().put(key, new Uint8Array([2]), 'image/png')).rejects.toThrow(
      /409 The resource already exists/,
    );
    expect(fake.objects.get(`${BUCKET}/${key}`)?.body).toEqual(Buffer.from([1]));
  });

  it('fails clearly with a wrong key, and refuses keys Kai would not make', async () => {
    const wrong = createSupabaseStorage({ url: fake.url, serviceKey: 'nope', bucket: BUCKET });

    await expect(wrong.put(`${randomUUID()}/x`, new Uint8Array([1]), 'image/png')).rejects.toThrow(
      /403 invalid signature/,
    );
    await expect(storage().get('../../etc/passwd')).rejects.toThrow(/not a storage key/);
    await expect(storage().delete(`${randomUUID()}/a/../b`)).rejects.toThrow(/not a storage key/);
  });

  it('treats deleting a missing object as done', async () => {
    await expect(storage().delete(`${randomUUID()}/${randomUUID()}`)).resolves.toBeUndefined();
  });
});

describe('POST /v1/jobs with Supabase Storage', () => {
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });

  afterAll(async () => {
    await testDb?.drop();
  });

  it('stores a multipart upload in the bucket under the owner’s folder', async () => {
    const app = createApp({
      db: testDb.db,
      logger: createLogger({ level: 'silent' }),
      readiness: () => ({ migrations: true, pool: true }),
      verifyJwt: testVerifier(),
      storage: storage(),
    });
    const owner = randomUUID();
    const form = new FormData();
    form.set('type', 'noop');
    form.set('file', new File([new Uint8Array([7, 7, 7])], 'tile.jpg', { type: 'image/jpeg' }));

    const response = await app.request('/v1/jobs', {
      method: 'POST',
      headers: await bearer(owner),
      body: form,
    });
    const job = (await response.json()) as { payload: { input: { key: string; storage: string } } };

    expect(response.status).toBe(202);
    expect(job.payload.input.storage).toBe('supabase');
    expect(job.payload.input.key.startsWith(`${owner}/`)).toBe(true);
    expect(fake.objects.get(`${BUCKET}/${job.payload.input.key}`)).toEqual({
      body: Buffer.from([7, 7, 7]),
      contentType: 'image/jpeg',
    });
  });

  it('answers 503 storage_unavailable when Storage refuses, and queues nothing', async () => {
    const app = createApp({
      db: testDb.db,
      logger: createLogger({ level: 'silent' }),
      readiness: () => ({ migrations: true, pool: true }),
      verifyJwt: testVerifier(),
      storage: createSupabaseStorage({ url: fake.url, serviceKey: 'revoked', bucket: BUCKET }),
    });
    const owner = randomUUID();
    const form = new FormData();
    form.set('type', 'noop');
    form.set('file', new File([new Uint8Array([1])], 'a.png', { type: 'image/png' }));

    const response = await app.request('/v1/jobs', {
      method: 'POST',
      headers: await bearer(owner),
      body: form,
    });

    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ code: 'storage_unavailable' });
    const rows = await testDb.db.query('select 1 from public.jobs where owner_id = $1', [owner]);
    expect(rows).toEqual([]);
  });
});
