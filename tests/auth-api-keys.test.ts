// API keys through the app: created with a secret shown once, stored only as a hash, used as a
// bearer token within their scopes, revoked for good; owners see and revoke only their own.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Auth } from '../core/auth/caller.ts';
import { asCaller } from '../core/auth/user-scope.ts';
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
  api = await createTestApi(testDb.db);
  asAlice = await bearer(alice);
  asBob = await bearer(bob);
});

afterAll(async () => {
  await api?.cleanup();
  await testDb?.drop();
});

interface CreatedKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  secret: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

async function createKey(
  headers: Record<string, string>,
  body: Record<string, unknown>,
): Promise<CreatedKey> {
  const response = await api.app.request('/v1/api-keys', jsonInit('POST', body, headers));
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as CreatedKey;
}

const withKey = (secret: string) => ({ authorization: `Bearer ${secret}` });

describe('API keys', () => {
  it('are created with a kai_ secret shown once and stored only as its SHA-256', async () => {
    const key = await createKey(asAlice, { name: 'ci', scopes: ['jobs:read'] });

    expect(key.secret).toMatch(/^kai_[A-Za-z0-9_-]{43}$/);
    expect(key.secret.startsWith(key.prefix)).toBe(true);
    expect(key).toMatchObject({ name: 'ci', scopes: ['jobs:read'], revokedAt: null });

    const rows = await testDb.db.query<Record<string, unknown>>(
      'select * from public.api_keys where id = $1',
      [key.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.key_hash).toBe(createHash('sha256').update(key.secret).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(key.secret);

    const listed = await api.app.request('/v1/api-keys', { headers: asAlice });
    const text = await listed.text();
    expect(listed.status).toBe(200);
    expect(text).toContain(key.id);
    expect(text).not.toContain(key.secret);
    expect(text).not.toContain('key_hash');
  });

  it('authenticate as their owner, within their scopes, and record their last use', async () => {
    const reader = await createKey(asAlice, { name: 'reader', scopes: ['jobs:read'] });
    const writer = await createKey(asAlice, { name: 'writer', scopes: ['jobs:*'] });

    const submitted = await api.app.request(
      '/v1/jobs',
      jsonInit('POST', { type: 'noop' }, withKey(writer.secret)),
    );
    expect(submitted.status).toBe(202);
    const job = (await submitted.json()) as { id: string };

    const read = await api.app.request(`/v1/jobs/${job.id}`, { headers: withKey(reader.secret) });
    expect(read.status).toBe(200);

    const refused = await api.app.request(
      '/v1/jobs',
      jsonInit('POST', { type: 'noop' }, withKey(reader.secret)),
    );
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      code: 'insufficient_scope',
      requiredScope: 'jobs:write',
    });

    const [row] = await testDb.db.query<{ owner_id: string; last_used_at: Date | null }>(
      'select j.owner_id, k.last_used_at from public.jobs j, public.api_keys k ' +
        'where j.id = $1 and k.id = $2',
      [job.id, writer.id],
    );
    expect(row?.owner_id).toBe(alice);
    expect(row?.last_used_at).toBeInstanceOf(Date);
  });

  it('cannot manage API keys: a leaked key mints no others', async () => {
    const key = await createKey(asAlice, { name: 'all', scopes: ['*'] });

    const mint = await api.app.request(
      '/v1/api-keys',
      jsonInit('POST', { name: 'more', scopes: ['*'] }, withKey(key.secret)),
    );

    expect(mint.status).toBe(403);
    expect(await mint.json()).toMatchObject({ code: 'forbidden' });
  });

  it('are refused with 401 once revoked', async () => {
    const key = await createKey(asAlice, { name: 'short-lived', scopes: ['jobs:read'] });
    expect((await api.app.request('/v1/jobs', { headers: withKey(key.secret) })).status).toBe(200);

    const revoked = await api.app.request(`/v1/api-keys/${key.id}`, {
      method: 'DELETE',
      headers: asAlice,
    });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as CreatedKey).revokedAt).not.toBeNull();

    const after = await api.app.request('/v1/jobs', { headers: withKey(key.secret) });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ code: 'invalid_api_key' });
  });

  it('are refused when unknown or expired', async () => {
    const unknown = `kai_${'A'.repeat(43)}`;
    const expired = await createKey(asAlice, {
      name: 'expired',
      scopes: ['jobs:read'],
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    await testDb.db.query(
      `update public.api_keys set expires_at = now() - interval '1 second' where id = $1`,
      [expired.id],
    );

    for (const secret of [unknown, 'kai_short', expired.secret]) {
      const response = await api.app.request('/v1/jobs', { headers: withKey(secret) });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'invalid_api_key' });
    }
  });

  it('belong to their owner: others neither see nor revoke them', async () => {
    const key = await createKey(asAlice, { name: 'private', scopes: ['jobs:read'] });

    const bobsList = (await (await api.app.request('/v1/api-keys', { headers: asBob })).json()) as {
      data: CreatedKey[];
    };
    const bobRevokes = await api.app.request(`/v1/api-keys/${key.id}`, {
      method: 'DELETE',
      headers: asBob,
    });

    expect(bobsList.data.map((k) => k.id)).not.toContain(key.id);
    expect(bobRevokes.status).toBe(404);
    expect((await api.app.request('/v1/jobs', { headers: withKey(key.secret) })).status).toBe(200);
  });

  it('refuse bad names and scopes, listing the fields', async () => {
    const response = await api.app.request(
      '/v1/api-keys',
      jsonInit('POST', { name: '', scopes: ['everything'] }, asAlice),
    );
    const body = (await response.json()) as { errors: { path: string }[] };

    expect(response.status).toBe(422);
    expect(body.errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['body.name', 'body.scopes.0']),
    );
  });

  it('are guarded by RLS below the routes: no hash read, no un-revoking', async () => {
    const key = await createKey(asAlice, { name: 'rls', scopes: ['jobs:read'] });
    await api.app.request(`/v1/api-keys/${key.id}`, { method: 'DELETE', headers: asAlice });
    const as = (sub: string): Auth => ({ subject: sub, kind: 'jwt', scopes: ['*'], claims: {} });

    const readHash = asCaller(testDb.db, as(alice), (tx) =>
      tx.query('select key_hash from public.api_keys where id = $1', [key.id]),
    );
    await expect(readHash).rejects.toThrow(/permission denied/);

    const unrevoke = asCaller(testDb.db, as(alice), (tx) =>
      tx.query('update public.api_keys set revoked_at = null where id = $1', [key.id]),
    );
    await expect(unrevoke).rejects.toThrow(/row-level security/);

    const foreign = asCaller(testDb.db, as(bob), (tx) =>
      tx.query(
        `insert into public.api_keys (owner_id, name, prefix, key_hash, scopes)
         values ($1, 'x', 'kai_x', repeat('a', 64), '{*}')`,
        [alice],
      ),
    );
    await expect(foreign).rejects.toThrow(/row-level security/);
  });

  it('cannot be written straight through PostgREST, not even one’s own', async () => {
    const direct = asUser(testDb.db, alice, (tx) =>
      tx.query(
        `insert into public.api_keys (owner_id, name, prefix, key_hash, scopes)
         values ($1, 'x', 'kai_x', repeat('b', 64), '{*}')`,
        [alice],
      ),
    );

    await expect(direct).rejects.toThrow(/permission denied.*through Kai's API/);
  });
});
