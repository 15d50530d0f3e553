// The pool's input reader on its own: stored objects (data dir, and Supabase Storage through its
// fake) checked against what the API recorded, URLs from a local server through the SSRF guard,
// and each way of failing with its stable code and whether another attempt may succeed.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolver } from '../core/net/outbound-guard.ts';
import { createDataDirStorage } from '../core/storage/data-dir-storage.ts';
import type { JobInput } from '../core/storage/job-input.ts';
import type { ObjectStorage } from '../core/storage/object-storage.ts';
import {
  createInputReader,
  InputReadError,
  type InputReader,
  NO_INPUT_READER,
} from '../core/storage/read-input.ts';
import { storeJobInput } from '../core/storage/store-input.ts';
import { createSupabaseStorage } from '../core/storage/supabase-storage.ts';
import { type LocalServer, listenLocal } from './helpers/fake-http-server.ts';
import {
  type FakeSupabaseStorage,
  startFakeSupabaseStorage,
} from './helpers/fake-supabase-storage.ts';

const MAX_BYTES = 1024;
const owner = randomUUID();
const bytes = new Uint8Array(Array.from({ length: 300 }, (_, i) => i % 256));

let dataDir: string;
let storage: ObjectStorage;
let server: LocalServer;
let fakeSupabase: FakeSupabaseStorage;
let reader: InputReader;
const readers: InputReader[] = [];

const resolve: Resolver = async (hostname) => {
  if (hostname === 'files.test') return [{ address: '127.0.0.1', family: 4 }];
  if (hostname === 'intranet.test') return [{ address: '10.0.0.7', family: 4 }];
  throw new Error(`${hostname} is not a name of this test`);
};

function readerOf(options: Partial<Parameters<typeof createInputReader>[0]> = {}): InputReader {
  const made = createInputReader({
    storage,
    maxBytes: MAX_BYTES,
    outbound: { allow: ['127.0.0.1'], resolve },
    ...options,
  });
  readers.push(made);
  return made;
}

const url = (path: string, host = 'files.test') => ({
  url: `http://${host}:${server.port}${path}`,
});
const read = (input: JobInput, use = reader, signal = new AbortController().signal) =>
  use.read(input, { signal, ownerId: owner });

/** The InputReadError `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<InputReadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputReadError);
  return error as InputReadError;
}

const stored = (target = storage) =>
  storeJobInput(target, {
    ownerId: owner,
    body: bytes,
    contentType: 'application/octet-stream',
    maxBytes: MAX_BYTES,
  }) as Promise<Extract<JobInput, { key: string }>>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kai-read-input-'));
  storage = createDataDirStorage({ dataDir, bucket: 'kai-inputs' });
  fakeSupabase = await startFakeSupabaseStorage(['kai-inputs']);
  server = await listenLocal(async (request, response) => {
    const path = request.url ?? '/';
    if (path.startsWith('/bytes')) {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(bytes);
    } else if (path === '/moved') {
      response.writeHead(307, { location: '/bytes' });
      response.end();
    } else if (path === '/exactly-the-limit') {
      response.writeHead(200, { 'content-length': String(MAX_BYTES) });
      response.end(Buffer.alloc(MAX_BYTES, 7));
    } else if (path === '/one-over') {
      response.writeHead(200, { 'content-length': String(MAX_BYTES + 1) });
      response.end(Buffer.alloc(MAX_BYTES + 1, 7));
    } else if (path === '/busy') {
      response.writeHead(503, { 'retry-after': '1' });
      response.end();
    } else if (path === '/loop') {
      response.writeHead(302, { location: '/loop' });
      response.end();
    } else if (path === '/to-intranet') {
      response.writeHead(301, { location: `http://intranet.test:${server.port}/secret` });
      response.end();
    } else if (path === '/slow') {
      // Never answers; the reader's timeout ends it.
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  reader = readerOf();
});

afterAll(async () => {
  for (const made of readers) made.close();
  await server?.close();
  await fakeSupabase?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('stored inputs', () => {
  it('reads an object of the job owner, as stored', async () => {
    const input = await stored();
    const answer = await read(input);
    expect(answer).toEqual({ bytes, contentType: 'application/octet-stream' });
  });

  it('reads from Supabase Storage when the pool is given it', async () => {
    const supabase = createSupabaseStorage({
      url: fakeSupabase.url,
      serviceKey: fakeSupabase.serviceKey,
      bucket: 'kai-inputs',
    });
    const input = await stored(supabase);
    expect((await read(input, readerOf({ storage: supabase }))).bytes).toEqual(bytes);

    // Storage that does not answer is a hiccup: retried.
    const down = createSupabaseStorage({ url: 'http://127.0.0.1:9', serviceKey: 'k', bucket: 'b' });
    const error = await failure(read(input, readerOf({ storage: down })));
    expect([error.code, error.retryable]).toEqual(['input_storage_error', true]);
  });

  it('fails for good an object that is gone, changed, foreign or in other storage', async () => {
    const input = await stored();
    const missing = { ...input, key: `${owner}/${randomUUID()}` };
    const changed = { ...input, sha256: 'f'.repeat(64) };
    const resized = { ...input, bytes: input.bytes - 1 };
    const foreign = { ...input, key: `${randomUUID()}/${randomUUID()}` };
    const escaping = { ...input, key: `${owner}/../../etc` };
    const elsewhere = { ...input, storage: 'supabase' };

    const codes = [];
    for (const bad of [missing, changed, resized, foreign, escaping, elsewhere]) {
      const error = await failure(read(bad));
      codes.push([error.code, error.retryable]);
    }
    expect(codes).toEqual([
      ['input_missing', false],
      ['input_checksum_mismatch', false],
      ['input_checksum_mismatch', false],
      ['input_forbidden', false],
      ['input_forbidden', false],
      ['input_storage_mismatch', false],
    ]);
    // A job of the service itself may read any key Kai made.
    const service = await reader.read(input, {
      signal: new AbortController().signal,
      ownerId: null,
    });
    expect(service.bytes).toEqual(bytes);
  });
});

describe('input URLs', () => {
  it('fetches the bytes and the content type, following a redirect', async () => {
    const answer = await read(url('/bytes?token=secret'));
    expect(answer).toEqual({ bytes, contentType: 'image/png' });
    expect(await read(url('/moved'))).toEqual(answer);
    const limit = await read(url('/exactly-the-limit'));
    expect(limit.bytes.byteLength).toBe(MAX_BYTES);
  });

  it('fails bad URLs for good and network trouble for another attempt', async () => {
    const cases: [JobInput, InputReader?][] = [
      [{ url: `http://127.0.0.1:${server.port}/bytes` }, readerOf({ outbound: { resolve } })],
      [url('/secret', 'intranet.test')],
      [url('/to-intranet')],
      [url('/one-over')],
      [url('/nothing-here')],
      [url('/loop')],
      [url('/busy')],
      [url('/slow'), readerOf({ timeoutMs: 200 })],
      [{ url: 'http://127.0.0.1:9/closed' }],
    ];
    const outcomes = [];
    for (const [input, use] of cases) {
      const error = await failure(read(input, use));
      outcomes.push([error.code, error.retryable]);
    }
    expect(outcomes).toEqual([
      ['input_url_refused', false], // loopback, when the guard allows none
      ['input_url_refused', false],
      ['input_url_refused', false], // a redirect is checked as the first URL was
      ['input_too_large', false],
      ['input_http_error', false],
      ['input_http_error', false],
      ['input_http_error', true],
      ['input_timeout', true],
      ['input_unreachable', true],
    ]);
  });

  it('keeps query strings out of its messages, and stops when the job is aborted', async () => {
    const error = await failure(read(url('/nothing-here?X-Amz-Signature=abc')));
    expect(error.message).not.toMatch(/abc|Signature/);

    const controller = new AbortController();
    const pending = read(url('/slow'), reader, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const aborted = await failure(pending);
    expect([aborted.code, aborted.retryable]).toEqual(['input_aborted', true]);
  });
});

describe('without storage or a reader', () => {
  it('fails stored inputs with input_unavailable, for good', async () => {
    const input = await stored();
    for (const use of [readerOf({ storage: undefined }), NO_INPUT_READER]) {
      const error = await failure(read(input, use));
      expect([error.code, error.retryable]).toEqual(['input_unavailable', false]);
    }
  });
});
