// Image jobs whose image is their input: submitted through the app as a multipart upload or a
// URL, run by the real pool on the real texture net and PaddleOCR, with the pool's input reader
// over the API's data-dir storage and a local HTTP server that two fake host names resolve to.
// A bad input fails its own job with its stable code; the rest of the batch completes.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../core/config/defaults.ts';
import type { Database } from '../core/db/database.ts';
import { createLogger } from '../core/logging/logger.ts';
import type { Resolver } from '../core/net/outbound-guard.ts';
import { enqueueJob } from '../core/queue/enqueue.ts';
import { syncQueueClasses } from '../core/queue/queue-classes.ts';
import type { JobInput } from '../core/storage/job-input.ts';
import { createInputReader, type InputReader } from '../core/storage/read-input.ts';
import { ALL_HANDLERS } from '../gpu-pool/handlers/all-handlers.ts';
import { loadModelRepository, type ModelRepository } from '../gpu-pool/models/model-repository.ts';
import { repositoryModels } from '../gpu-pool/repository-models.ts';
import { createWorkerPool, type WorkerPool } from '../gpu-pool/worker-pool.ts';
import { installPaddleOcr } from '../scripts/build-models.ts';
import { buildTextureNet } from '../scripts/build-texture-net.ts';
import { createTestApi, jsonInit, type TestApi } from './helpers/api-app.ts';
import { bearer } from './helpers/auth-tokens.ts';
import { type LocalServer, listenLocal } from './helpers/fake-http-server.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';
import { recordingMetrics, stripesPng, waitForJobs } from './texture-helpers.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const MAX_UPLOAD_BYTES = 96 * 1024;
const SLOW_MS = 180_000;

let testDb: TestDatabase;
let db: Database;
let api: TestApi;
let server: LocalServer;
let modelDir: string;
let repository: ModelRepository;
let reader: InputReader;
let asAlice: Record<string, string>;
const alice = randomUUID();
let tile: Buffer;
let page: Buffer;

/** tiles.test is the local server; metadata.test resolves where a cloud's metadata lives. */
const resolve: Resolver = async (hostname) => {
  if (hostname === 'tiles.test') return [{ address: '127.0.0.1', family: 4 }];
  if (hostname === 'metadata.test') return [{ address: '169.254.169.254', family: 4 }];
  throw new Error(`${hostname} is not a name of this test`);
};

/** A white PNG with one line of dark text per entry, as the OCR tests render them. */
async function textImage(lines: string[]): Promise<Buffer> {
  const texts = lines.map(
    (line, i) =>
      `<text x="24" y="${56 + i * 50}" font-family="DejaVu Sans" font-size="26">${line}</text>`,
  );
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${40 + lines.length * 50}">` +
    `<rect width="100%" height="100%" fill="white"/>${texts.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

const url = (path: string, host = 'tiles.test') => `http://${host}:${server.port}${path}`;

async function submit(body: RequestInit['body'], json = true): Promise<string> {
  const init: RequestInit = json
    ? jsonInit('POST', JSON.parse(body as string), asAlice)
    : { method: 'POST', headers: asAlice, body };
  const response = await api.app.request('/v1/jobs', init);
  const answer = (await response.json()) as { id: string; payload: { input?: JobInput } };
  expect(response.status, JSON.stringify(answer)).toBe(202);
  return answer.id;
}

const submitJson = (body: unknown) => submit(JSON.stringify(body));

function submitUpload(type: string, bytes: Uint8Array, payload: unknown = {}): Promise<string> {
  const form = new FormData();
  form.set('type', type);
  form.set('payload', JSON.stringify(payload));
  form.set('file', new File([bytes], 'image.png', { type: 'image/png' }));
  return submit(form, false);
}

async function payloadOf(id: string): Promise<{ input: JobInput & { key: string } }> {
  const [row] = await db.query<{ payload: { input: JobInput & { key: string } } }>(
    'select payload from public.jobs where id = $1',
    [id],
  );
  return row?.payload as { input: JobInput & { key: string } };
}

async function attemptsOf(ids: string[]): Promise<number[]> {
  const rows = await db.query<{ id: string; attempts: number }>(
    'select id, attempts from public.jobs where id = any($1::uuid[])',
    [ids],
  );
  return ids.map((id) => rows.find((row) => row.id === id)?.attempts ?? -1);
}

async function startPool(metrics = recordingMetrics()): Promise<WorkerPool> {
  const pool = createWorkerPool({
    db,
    logger,
    handlers: ALL_HANDLERS,
    models: repositoryModels(repository, 16),
    metrics,
    queueClasses: DEFAULTS.KAI_QUEUES,
    leaseMs: 60_000,
    retry: { baseMs: 10, maxMs: 100 },
    concurrency: 16,
    batchSizeLimit: 16,
    pollIntervalMs: 100,
    inputReader: reader,
  });
  await pool.start();
  return pool;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = testDb.db;
  await syncQueueClasses(db, DEFAULTS.KAI_QUEUES);
  api = await createTestApi(db, { maxUploadBytes: MAX_UPLOAD_BYTES });
  asAlice = await bearer(alice);
  tile = await stripesPng(0.6);
  page = await textImage(['Porcelain floor tile', 'Size: 600 x 600 mm']);

  server = await listenLocal((request, response) => {
    const path = request.url ?? '/';
    if (path === '/tile.png' || path === '/page.png') {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(path === '/tile.png' ? tile : page);
    } else if (path === '/moved') {
      response.writeHead(302, { location: '/tile.png' });
      response.end();
    } else if (path === '/huge.png') {
      // Chunked, without a length: the reader stops reading past the limit.
      response.writeHead(200, { 'content-type': 'image/png' });
      response.write(tile);
      for (let i = 0; i < 8; i++) response.write(Buffer.alloc(16 * 1024, i));
      response.end();
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('no such image');
    }
  });

  modelDir = await mkdtemp(join(tmpdir(), 'kai-input-models-'));
  await buildTextureNet(modelDir);
  await installPaddleOcr(modelDir);
  repository = await loadModelRepository(modelDir, { logger, executionProviders: ['cpu'] });
  reader = createInputReader({
    storage: api.storage,
    maxBytes: MAX_UPLOAD_BYTES,
    timeoutMs: 10_000,
    outbound: { allow: ['127.0.0.1'], resolve },
  });
}, SLOW_MS);

afterAll(async () => {
  reader?.close();
  await repository?.close();
  await server?.close();
  await api?.cleanup();
  await testDb?.drop();
  if (modelDir) await rm(modelDir, { recursive: true, force: true });
});

describe('image jobs with an input, through the app and the real pool', () => {
  it(
    'embeds an upload and a URL as the same image inline; bad inputs fail alone, at once',
    async () => {
      // Queued before the pool starts, so that its first claim takes them as one batch.
      const inline = await submitJson({
        type: 'texture.embed',
        payload: { imageBase64: tile.toString('base64') },
      });
      const uploaded = await submitUpload('texture.embed', tile);
      const byUrl = await submitJson({ type: 'texture.embed', input: { url: url('/tile.png') } });
      const redirected = await submitJson({ type: 'texture.embed', input: { url: url('/moved') } });

      const refused = await submitJson({
        type: 'texture.embed',
        input: { url: url('/latest/meta-data', 'metadata.test') },
      });
      const tooLarge = await submitJson({
        type: 'texture.embed',
        input: { url: url('/huge.png') },
      });
      const notFound = await submitJson({ type: 'texture.embed', input: { url: url('/gone') } });
      // The stored object changes after submission: its bytes no longer match the record.
      const changed = await submitUpload('texture.embed', tile);
      const { input: changedInput } = await payloadOf(changed);
      await writeFile(
        join(api.dataDir, 'storage', 'kai-inputs', changedInput.key),
        await stripesPng(1.2),
      );
      // Another user's job naming alice's upload, as a row written around the API could.
      const { job: foreign } = await enqueueJob(db, {
        type: 'texture.embed',
        payload: { input: (await payloadOf(uploaded)).input },
        ownerId: randomUUID(),
        queue: 'batch',
        model: 'kai-texture-net',
      });

      const ids = [inline, uploaded, byUrl, redirected];
      const bad = [refused, tooLarge, notFound, changed, foreign.id];
      const metrics = recordingMetrics();
      const pool = await startPool(metrics);
      try {
        const settled = await waitForJobs(db, [...ids, ...bad], 60_000);
        const [first, ...others] = settled.slice(0, ids.length);
        expect(first?.status).toBe('completed');
        expect(first?.result?.model).toBe('kai-texture-net');
        for (const job of others) {
          expect(job.status, JSON.stringify(job.error)).toBe('completed');
          expect(job.result).toEqual(first?.result);
        }

        const codes = settled.slice(ids.length).map((job) => [job.status, job.error?.code]);
        expect(codes).toEqual([
          ['dead', 'input_url_refused'],
          ['dead', 'input_too_large'],
          ['dead', 'input_http_error'],
          ['dead', 'input_checksum_mismatch'],
          ['dead', 'input_forbidden'],
        ]);
        expect(settled.at(ids.length)?.error?.message).toMatch(/169\.254\.169\.254/);
        // Fatal: dead on their first attempt, not retried.
        expect(await attemptsOf(bad)).toEqual(bad.map(() => 1));
        // One claim, one batch: the bad inputs failed beside the good ones.
        expect(Math.max(...metrics.batches)).toBe(ids.length + bad.length);
      } finally {
        await pool.drain();
      }
    },
    SLOW_MS,
  );

  it(
    'reads an uploaded page and the same page by URL with OCR as it reads it inline',
    async () => {
      const inline = await submitJson({
        type: 'ocr.extract',
        payload: { imageBase64: page.toString('base64') },
      });
      const uploaded = await submitUpload('ocr.extract', page);
      const byUrl = await submitJson({ type: 'ocr.extract', input: { url: url('/page.png') } });
      const spec = await submitUpload('spec.extract', page);

      const pool = await startPool();
      try {
        const [first, upload, fetched, specJob] = await waitForJobs(
          db,
          [inline, uploaded, byUrl, spec],
          SLOW_MS,
        );
        expect(first?.status).toBe('completed');
        expect(first?.result?.text).toMatch(/600 x 600 mm/);
        expect(upload?.result).toEqual(first?.result);
        expect(fetched?.result).toEqual(first?.result);
        expect(specJob?.status).toBe('completed');
        expect(specJob?.result).toMatchObject({
          source: 'image',
          specification: { dimensions: { value: { widthMm: 600, lengthMm: 600 } } },
        });
      } finally {
        await pool.drain();
      }
    },
    SLOW_MS,
  );
});

describe('POST /v1/jobs with an input', () => {
  const post = (body: unknown) => api.app.request('/v1/jobs', jsonInit('POST', body, asAlice));

  it('refuses an input for a type that takes none, before storing anything', async () => {
    const form = new FormData();
    form.set('type', 'synthetic.mlp');
    form.set('file', new File([tile], 'tile.png', { type: 'image/png' }));
    const upload = await api.app.request('/v1/jobs', {
      method: 'POST',
      headers: asAlice,
      body: form,
    });
    const byUrl = await post({
      type: 'synthetic.mlp',
      input: { url: 'https://example.com/a.png' },
    });

    for (const response of [upload, byUrl]) {
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ message: expect.stringMatching(/takes no input; these types do: .*ocr/) }],
      });
    }
  });

  it('refuses an upload that is no image for an image type, and a payload.input', async () => {
    const before = await storedCount();
    const form = new FormData();
    form.set('type', 'ocr.extract');
    form.set('file', new File([Buffer.from('just text')], 'a.txt', { type: 'text/plain' }));
    const notImage = await api.app.request('/v1/jobs', {
      method: 'POST',
      headers: asAlice,
      body: form,
    });
    const written = await post({
      type: 'texture.embed',
      payload: { input: { url: 'https://example.com/a.png' } },
    });
    const both = await post({
      type: 'texture.embed',
      payload: { imageBase64: tile.toString('base64') },
      input: { base64: tile.toString('base64'), contentType: 'image/png' },
    });

    expect(notImage.status).toBe(422);
    expect(await notImage.json()).toMatchObject({
      errors: [{ path: 'body.file', message: 'the bytes are not a PNG, JPEG or WebP image' }],
    });
    expect(written.status).toBe(422);
    expect(await written.json()).toMatchObject({
      errors: [{ path: 'body.payload.input' }],
    });
    expect(both.status).toBe(422);
    expect(await both.json()).toMatchObject({
      errors: [{ path: 'payload', message: 'expects exactly one of imageBase64 and input' }],
    });
    // The base64 input of the refused job was deleted again; nothing else was stored.
    expect(await storedCount()).toBe(before);
  });

  it('documents which types take an input, and how it reaches them', async () => {
    const document = (await (await api.app.request('/openapi.json')).json()) as {
      paths: Record<string, { post?: { description?: string } }>;
    };
    const description = document.paths['/v1/jobs']?.post?.description ?? '';
    expect(description).toMatch(/payload\.input/);
    expect(description).toMatch(/ocr\.extract/);
    expect(description).toMatch(/input_checksum_mismatch/);
  });
});

async function storedCount(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  const files = await readdir(join(api.dataDir, 'storage', 'kai-inputs', alice)).catch(() => []);
  return files.length;
}
