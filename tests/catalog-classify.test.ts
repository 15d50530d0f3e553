import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogItem } from '../core/catalog/catalog-item.ts';
import type { CatalogNeighbour } from '../core/catalog/nearest-items.ts';
import { CapabilityUnavailableError } from '../core/errors.ts';
import { createApp } from '../core/http/app.ts';
import { submitJob } from '../core/jobs/submit-job.ts';
import { createLogger } from '../core/logging/logger.ts';
import { generateTextureSet, TEXTURE_FAMILIES } from '../scripts/eval/textures.ts';
import { bearer, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { startTexturePool, textureModelDir, waitForJobs } from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const CLASSES = {
  interactive: { concurrency: 20, weight: 10 },
  batch: { concurrency: 20, weight: 5 },
  maintenance: { concurrency: 5, weight: 1 },
};
const userA = randomUUID();
const userB = randomUUID();
let testDb: TestDatabase;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  app = createApp({
    db: testDb.db,
    logger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
    queueClasses: CLASSES,
  });
});

afterAll(async () => {
  await testDb?.drop();
});

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** What the catalog routes answer, loosely: the tests check the members they need. */
interface ResponseBody {
  code?: string;
  items?: CatalogItem[];
  neighbours?: CatalogNeighbour[];
  source?: unknown;
  errors?: unknown;
  [member: string]: unknown;
}

async function call(user: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { ...(await bearer(user)) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await app.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: (await response.json()) as ResponseBody,
  };
}

const hasVector = () => testDb.driver === 'pglite';

describe('the catalog where pgvector is missing (the real Postgres leg)', () => {
  it('still migrates: the table is there, without its embedding column', async () => {
    const columns = await testDb.db.query<{ column_name: string }>(
      `select column_name from information_schema.columns
       where table_schema = 'public' and table_name = 'catalog_items'`,
    );
    const names = columns.map((c) => c.column_name);
    expect(names).toContain('material_class');
    expect(names.includes('embedding')).toBe(hasVector());
  });

  it.skipIf(!process.env.DATABASE_URL)(
    'answers capability_unavailable for items, similar and classify',
    async () => {
      const [sample] = await generateTextureSet({ perFamily: 1, seed: 3, sizePx: 64 });
      const image = base64((sample as { bytes: Buffer }).bytes);

      const added = await call(userA, '/v1/catalog/items', {
        items: [{ materialClass: 'oak', productId: 'p-1', imageBase64: image }],
      });
      expect(added.status).toBe(503);
      expect(added.type).toMatch(/application\/problem\+json/);
      expect(added.body).toMatchObject({ code: 'capability_unavailable', capability: 'vector' });

      const similar = await call(userA, `/v1/catalog/similar?itemId=${randomUUID()}`);
      expect(similar.status).toBe(503);
      expect(similar.body.code).toBe('capability_unavailable');

      // Reading the (empty) catalog needs no vectors.
      const listed = await call(userA, '/v1/catalog/items');
      expect(listed).toMatchObject({ status: 200, body: { items: [], nextCursor: null } });

      const classify = submitJob(testDb.db, CLASSES, {
        type: 'material.classify',
        payload: { imageBase64: image },
        ownerId: userA,
      });
      await expect(classify).rejects.toBeInstanceOf(CapabilityUnavailableError);
      const [row] = await testDb.db.query<{ count: number }>(
        'select count(*)::int as count from public.jobs',
      );
      expect(row?.count).toBe(0);
    },
  );
});

describe.skipIf(Boolean(process.env.DATABASE_URL))('the catalog on pgvector (PGlite)', () => {
  let models: { dir: string; remove(): Promise<void> };
  let running: Awaited<ReturnType<typeof startTexturePool>>;
  const items: CatalogItem[] = [];

  beforeAll(async () => {
    models = await textureModelDir();
    running = await startTexturePool({ db: testDb.db, logger, modelDir: models.dir });

    // Three reference images per family, in user A's catalog.
    const references = await generateTextureSet({ perFamily: 3, seed: 11, sizePx: 96 });
    const bodies = references.map((sample, i) => ({
      materialClass: sample.family,
      productId: `${sample.family}-${i}`,
      imageBase64: base64(sample.bytes),
    }));
    for (const chunk of [bodies.slice(0, 9), bodies.slice(9)]) {
      const added = await call(userA, '/v1/catalog/items', { items: chunk });
      expect(added.status).toBe(202);
      items.push(...(added.body.items ?? []));
    }
    await waitForJobs(
      testDb.db,
      items.map((item) => item.embedJobId as string),
    );
  });

  afterAll(async () => {
    await running?.stop();
    await models?.remove();
  });

  it('stores each item embedding as its texture.embed job completes', async () => {
    expect(items.every((item) => item.status === 'embedding')).toBe(true);
    const read = await call(userA, `/v1/catalog/items/${items[0]?.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ status: 'ready', embeddingModel: 'kai-texture-net' });
  });

  it('classifies unseen images by a vote of their nearest catalog items', async () => {
    const queries = await generateTextureSet({ perFamily: 1, seed: 99, sizePx: 96 });
    const jobs = [];
    for (const sample of queries) {
      const { job } = await submitJob(testDb.db, CLASSES, {
        type: 'material.classify',
        payload: { imageBase64: base64(sample.bytes), k: 5 },
        ownerId: userA,
      });
      jobs.push(job.id);
    }
    const settled = await waitForJobs(testDb.db, jobs);

    let correct = 0;
    for (const [i, job] of settled.entries()) {
      expect(job.status).toBe('completed');
      const result = job.result as {
        materialClass: string;
        confidence: number;
        neighbours: CatalogNeighbour[];
        votes: { share: number }[];
      };
      expect(result.neighbours).toHaveLength(5);
      const similarities = result.neighbours.map((n) => n.similarity);
      expect(similarities).toEqual([...similarities].sort((a, b) => b - a));
      expect(result.confidence).toBeGreaterThan(0);
      expect(result.confidence).toBeLessThanOrEqual(1);
      expect(result.votes.reduce((sum, v) => sum + v.share, 0)).toBeCloseTo(1, 6);
      if (result.materialClass === queries[i]?.family) correct++;
    }
    // Six families, one unseen variation each: the net's retrieval is good, not perfect.
    expect(correct).toBeGreaterThanOrEqual(TEXTURE_FAMILIES.length - 1);
  });

  it('keeps catalogs apart: B sees none of A’s items, but the shared catalog', async () => {
    const [sample] = await generateTextureSet({ perFamily: 1, seed: 5, sizePx: 96 });
    const image = base64((sample as { bytes: Buffer }).bytes);

    const { job: empty } = await submitJob(testDb.db, CLASSES, {
      type: 'material.classify',
      payload: { imageBase64: image },
      ownerId: userB,
    });
    const [failed] = await waitForJobs(testDb.db, [empty.id]);
    expect(failed).toMatchObject({ status: 'dead', error: { code: 'catalog_empty' } });
    expect((await call(userB, `/v1/catalog/items/${items[0]?.id}`)).status).toBe(404);
    expect((await call(userB, `/v1/catalog/similar?itemId=${items[0]?.id}`)).status).toBe(404);

    // A shared reference item (no owner), embedded by a job of the service.
    const { job: embed } = await submitJob(testDb.db, CLASSES, {
      type: 'texture.embed',
      payload: { imageBase64: image },
      ownerId: null,
    });
    await testDb.db.query(
      `insert into public.catalog_items (owner_id, material_class, product_id, embed_job_id)
       values (null, 'shared-reference', 'ref-1', $1)`,
      [embed.id],
    );
    await waitForJobs(testDb.db, [embed.id]);

    const { job: shared } = await submitJob(testDb.db, CLASSES, {
      type: 'material.classify',
      payload: { imageBase64: image, k: 3 },
      ownerId: userB,
    });
    const [done] = await waitForJobs(testDb.db, [shared.id]);
    expect(done?.status).toBe('completed');
    expect(done?.result).toMatchObject({ materialClass: 'shared-reference', confidence: 1 });
    const neighbours = done?.result?.neighbours as CatalogNeighbour[];
    expect(neighbours).toHaveLength(1);
    expect(neighbours[0]).toMatchObject({ shared: true });
    expect(neighbours[0]?.similarity).toBeCloseTo(1, 4);
  });

  it('finds items similar to an item and to a finished job', async () => {
    const source = items.find((item) => item.materialClass === 'woven-fabric') as CatalogItem;
    const byItem = await call(userA, `/v1/catalog/similar?itemId=${source.id}&k=2`);
    expect(byItem.status).toBe(200);
    const neighbours = byItem.body.neighbours as CatalogNeighbour[];
    expect(neighbours).toHaveLength(2);
    expect(neighbours.map((n) => n.itemId)).not.toContain(source.id);
    expect(neighbours.every((n) => n.materialClass === 'woven-fabric')).toBe(true);

    const byJob = await call(userA, `/v1/catalog/similar?jobId=${source.embedJobId}&k=1`);
    expect(byJob.status).toBe(200);
    expect(byJob.body.source).toMatchObject({ kind: 'job', type: 'texture.embed' });
    expect(byJob.body.neighbours?.[0]).toMatchObject({ itemId: source.id });
    expect(byJob.body.neighbours?.[0]?.similarity).toBeCloseTo(1, 4);

    expect((await call(userB, `/v1/catalog/similar?jobId=${source.embedJobId}`)).status).toBe(404);
  });

  it('marks an item failed, with the code, when its image cannot be decoded', async () => {
    const [sample] = await generateTextureSet({ perFamily: 1, seed: 8, sizePx: 96 });
    const cut = (sample as { bytes: Buffer }).bytes.subarray(0, 120);
    const added = await call(userA, '/v1/catalog/items', {
      items: [{ materialClass: 'oak', productId: 'cut-short', imageBase64: base64(cut) }],
    });
    expect(added.status).toBe(202);
    const item = added.body.items?.[0] as CatalogItem;
    await waitForJobs(testDb.db, [item.embedJobId as string]);

    const read = await call(userA, `/v1/catalog/items/${item.id}`);
    expect(read.body).toMatchObject({ status: 'failed', error: { code: 'image_unreadable' } });
    const similar = await call(userA, `/v1/catalog/similar?itemId=${item.id}`);
    expect(similar.status).toBe(422);
  });

  it('lists items page by page with filters, and removes only one’s own', async () => {
    const first = await call(userA, '/v1/catalog/items?own=true&limit=5&status=ready');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(5);
    const seen = new Set(first.body.items?.map((item) => item.id));
    let cursor = first.body.nextCursor as string | null;
    while (cursor) {
      const next = await call(
        userA,
        `/v1/catalog/items?own=true&limit=5&status=ready&cursor=${cursor}`,
      );
      for (const item of next.body.items ?? []) seen.add(item.id);
      cursor = next.body.nextCursor as string | null;
    }
    expect(seen.size).toBe(items.length);

    const oak = await call(userA, '/v1/catalog/items?materialClass=wood-grain');
    expect(oak.body.items?.every((item) => item.materialClass === 'wood-grain')).toBe(true);
    const shared = await call(userB, '/v1/catalog/items?own=false');
    expect(shared.body.items?.map((item) => item.productId)).toEqual(['ref-1']);
    expect((await call(userA, '/v1/catalog/items?cursor=nonsense')).status).toBe(422);

    const victim = items.at(-1) as CatalogItem;
    const remove = (user: string, id: string) =>
      bearer(user).then((headers) =>
        app.request(`/v1/catalog/items/${id}`, { method: 'DELETE', headers }),
      );
    expect((await remove(userB, victim.id)).status).toBe(404);
    const sharedId = shared.body.items?.[0]?.id as string;
    expect((await remove(userB, sharedId)).status).toBe(404);
    expect((await remove(userA, victim.id)).status).toBe(204);
    expect((await call(userA, `/v1/catalog/items/${victim.id}`)).status).toBe(404);
    items.pop();
  });

  it('documents its routes in the OpenAPI document', async () => {
    const response = await app.request('/openapi.json');
    const paths = Object.keys(((await response.json()) as { paths: object }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/catalog/items',
        '/v1/catalog/items/{id}',
        '/v1/catalog/similar',
      ]),
    );
  });

  it('refuses bad requests with 422 problems', async () => {
    const both = await call(
      userA,
      `/v1/catalog/similar?itemId=${randomUUID()}&jobId=${randomUUID()}`,
    );
    expect(both.status).toBe(422);
    expect(both.body.code).toBe('validation_failed');

    const notImage = await call(userA, '/v1/catalog/items', {
      items: [{ materialClass: 'oak', productId: 'x', imageBase64: base64(Buffer.from('nope')) }],
    });
    expect(notImage.status).toBe(422);
    expect(JSON.stringify(notImage.body.errors)).toMatch(/not a PNG, JPEG or WebP/);

    const badClass = await call(userA, '/v1/catalog/items', {
      items: [
        { materialClass: 'Oak Wood', productId: 'x', imageBase64: base64(Buffer.from('nope')) },
      ],
    });
    expect(badClass.status).toBe(422);
  });
});
