// fast-check sends random bodies, headers, paths and credentials to each public route through
// the app itself: no answer may be a 5xx, and every error must be a problem document.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../core/http/app.ts';
import { DEFAULT_EDGE_SETTINGS } from '../core/http/middleware/edge-middleware.ts';
import { createLogger } from '../core/logging/logger.ts';
import { createDataDirStorage } from '../core/storage/data-dir-storage.ts';
import { signTestToken, testVerifier } from './helpers/auth-tokens.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

/** Per route; the issue asks for at least 1,000. */
const RUNS = 1000;
const FUZZ_TIMEOUT_MS = 120_000;

/** The app's error lines, to say why a request failed when one does. */
const errors: string[] = [];
const logger = createLogger({
  level: 'error',
  destination: { write: (line: string) => void errors.push(line) },
});
let testDb: TestDatabase;
let dataDir: string;
let app: ReturnType<typeof createApp>;
let credentials: Record<string, string | undefined>;
let jobIds: string[];

beforeAll(async () => {
  testDb = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'kai-fuzz-'));
  app = createApp({
    db: testDb.db,
    logger,
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: testVerifier(),
    storage: createDataDirStorage({ dataDir, bucket: 'uploads' }),
    // The fuzzing is about the routes; a limit this high never refuses it.
    edge: {
      ...DEFAULT_EDGE_SETTINGS,
      bodyLimitBytes: 256 * 1024,
      rateLimit: {
        ...DEFAULT_EDGE_SETTINGS.rateLimit,
        perMinute: 1_000_000,
        submitPerMinute: 1_000_000,
        authFailuresPerMinute: 1_000_000,
      },
    },
  });

  const owner = randomUUID();
  const jwt = await signTestToken({ sub: owner });
  const key = async (scopes: string[]) => {
    const response = await app.request('/v1/api-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'fuzz', scopes }),
    });
    return ((await response.json()) as { secret: string }).secret;
  };
  credentials = {
    none: undefined,
    owner: `Bearer ${jwt}`,
    other: `Bearer ${await signTestToken()}`,
    readWriteKey: `Bearer ${await key(['jobs:read', 'jobs:write'])}`,
    readKey: `Bearer ${await key(['jobs:read'])}`,
    tampered: `Bearer ${jwt.slice(0, -3)}abc`,
    unknownKey: `Bearer kai_${'x'.repeat(43)}`,
    notBearer: `Basic ${Buffer.from('a:b').toString('base64')}`,
    empty: 'Bearer ',
  };

  // The owner's jobs, finished so that their event streams end by themselves.
  jobIds = [];
  for (let i = 0; i < 3; i++) {
    const submitted = await app.request('/v1/jobs', {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'noop', payload: {} }),
    });
    const { id } = (await submitted.json()) as { id: string };
    await app.request(`/v1/jobs/${id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}` },
    });
    jobIds.push(id);
  }
});

afterAll(async () => {
  await testDb.drop();
  await rm(dataDir, { recursive: true, force: true });
});

/** What every answer must be: below 500, and a problem document when it is an error. */
async function expectWellFormed(response: Response, method: string): Promise<void> {
  const contentType = response.headers.get('content-type') ?? '';
  if (response.status < 400) {
    // An event stream of a finished job ends by itself; anything else is drained.
    await response.body?.cancel();
    return;
  }

  const text = method === 'HEAD' ? '' : await response.text();
  expect(response.status, `${response.status} ${text} ${errors.at(-1)}`).toBeLessThan(500);
  expect(contentType).toBe('application/problem+json');
  if (method === 'HEAD') return;
  const problem = JSON.parse(text) as Record<string, unknown>;
  expect(problem.status).toBe(response.status);
  expect(problem.code).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  expect(problem.requestId).toBe(response.headers.get('x-request-id'));
}

// Arbitraries: the parts of a request.

const credentialArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('none', 'owner', 'other', 'readWriteKey', 'readKey') },
  { weight: 2, arbitrary: fc.constantFrom('tampered', 'unknownKey', 'notBearer', 'empty') },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }).map((s) => `raw:${s}`) },
);

function authorizationOf(name: string): string | undefined {
  if (name.startsWith('raw:')) return name.slice(4);
  return credentials[name];
}

const oddStrings = fc.constantFrom(
  '',
  ' ',
  '..',
  '%00',
  'null',
  'undefined',
  '-1',
  '0',
  '1e309',
  'NaN',
  '[]',
  '{}',
  '\u0000',
  '😀',
  "' or 1=1 --",
  'a'.repeat(500),
);

const idArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...[0, 1, 2].map((i) => `job:${i}`)) },
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: oddStrings },
);

function idOf(value: string): string {
  const match = /^job:(\d)$/.exec(value);
  return match ? (jobIds[Number(match[1])] as string) : value;
}

const queryArb = fc.dictionary(
  fc.oneof(
    fc.constantFrom('status', 'type', 'limit', 'cursor', 'createdAfter', 'createdBefore'),
    fc.string({ maxLength: 20 }),
  ),
  fc.oneof(
    fc.constantFrom(
      'queued',
      'queued,running',
      'completed,bogus',
      'noop',
      '20',
      '101',
      '-5',
      '2026-12-03T00:00:00Z',
      '2026-13-45',
    ),
    fc.integer().map(String),
    fc.string({ maxLength: 40 }),
    oddStrings,
  ),
  { maxKeys: 4 },
);

const headerArb = fc.record(
  {
    'idempotency-key': fc.oneof(fc.uuid(), fc.stringMatching(/^[ -~]{0,300}$/)),
    accept: fc.constantFrom('application/json', 'text/event-stream', '*/*', 'text/html', ''),
    'last-event-id': fc.stringMatching(/^[ -~]{0,20}$/),
    'x-request-id': fc.stringMatching(/^[ -~]{0,300}$/),
    origin: fc.constantFrom('https://app.example.com', 'null', 'https://evil.test'),
  },
  { requiredKeys: [] },
);

const contentTypeArb = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=nope',
  'application/octet-stream',
  'image/png',
  '',
  ';;;',
);

const jobInputArb = fc.oneof(
  fc.record({ url: fc.oneof(fc.webUrl(), fc.string({ maxLength: 30 }), oddStrings) }),
  fc.record(
    {
      base64: fc.oneof(fc.base64String({ maxLength: 400 }), fc.string({ maxLength: 40 })),
      contentType: fc.oneof(fc.constantFrom('image/png', 'image/jpeg', 'text/plain'), fc.string()),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

const submissionArb = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom('noop', 'synthetic.mlp', 'ocr.extract', 'spec.extract', 'nope.nope'),
      fc.string({ maxLength: 120 }),
    ),
    payload: fc.oneof(
      fc.constant({}),
      fc.record({ sleepMs: fc.oneof(fc.nat(600_000), fc.integer(), fc.double()) }),
      fc.jsonValue({ maxDepth: 3 }),
    ),
    queue: fc.oneof(fc.constantFrom('interactive', 'batch', 'maintenance'), fc.string()),
    priority: fc.oneof(fc.integer({ min: -200, max: 200 }), fc.double(), fc.string()),
    runAfterMs: fc.oneof(fc.nat(), fc.integer(), fc.string()),
    maxAttempts: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constant(null)),
    timeoutMs: fc.oneof(fc.integer(), fc.double()),
    input: jobInputArb,
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);

/** Submissions Kai takes. */
const validSubmissionArb = fc.record(
  {
    type: fc.constant('noop'),
    payload: fc.record({ sleepMs: fc.nat(1000) }, { requiredKeys: [] }),
    priority: fc.integer({ min: -100, max: 100 }),
    maxAttempts: fc.integer({ min: 1, max: 100 }),
    input: fc.webUrl({ validSchemes: ['https'] }).map((url) => ({ url })),
  },
  { requiredKeys: ['type'] },
);

const validApiKeyBodyArb = fc.record({
  name: fc.string({ minLength: 1, maxLength: 50 }).filter((name) => name.trim() !== ''),
  scopes: fc.subarray(['jobs:read', 'jobs:write', 'jobs:*', '*'], { minLength: 1 }),
});

const apiKeyBodyArb = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 120 }), fc.integer()),
    scopes: fc.oneof(
      fc.array(
        fc.oneof(fc.constantFrom('jobs:read', 'jobs:*', '*', 'bad scope', ''), fc.string()),
        { maxLength: 60 },
      ),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    expiresAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string({ maxLength: 30 }),
    ),
  },
  { requiredKeys: [] },
);

/**
 * A body: JSON the route takes (sent as JSON), JSON shaped like it, any JSON, broken JSON, a
 * form, or bytes.
 */
function bodyArb(shaped: fc.Arbitrary<unknown>, valid: fc.Arbitrary<unknown> | undefined) {
  const validArm = (valid ?? shaped).map((value) => ({
    kind: 'json' as const,
    value,
    contentType: 'application/json',
  }));
  return fc.oneof(
    { weight: 2, arbitrary: validArm },
    { weight: 4, arbitrary: shaped.map((value) => ({ kind: 'json' as const, value })) },
    {
      weight: 2,
      arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.string({ maxLength: 200 }), oddStrings, fc.constantFrom('{"type":', '{]', 'nul'))
        .map((text) => ({ kind: 'text' as const, text })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          fields: fc.dictionary(
            fc.oneof(fc.constantFrom('type', 'payload', 'queue', 'priority'), fc.string()),
            fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('noop', '{}', '{"a":1}')),
            { maxKeys: 4 },
          ),
          file: fc.option(fc.uint8Array({ maxLength: 512 })),
          fileType: fc.constantFrom('image/png', 'application/pdf', '', 'x/y'),
        })
        .map((form) => ({ kind: 'form' as const, ...form })),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 512 })
        .map((bytes) => ({ kind: 'bytes' as const, bytes })),
    },
  );
}

type FuzzBody =
  | { kind: 'json'; value: unknown; contentType?: string }
  | { kind: 'text'; text: string }
  | { kind: 'form'; fields: Record<string, string>; file: Uint8Array | null; fileType: string }
  | { kind: 'bytes'; bytes: Uint8Array };

interface FuzzRequest {
  credential: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  contentType?: string;
  body?: FuzzBody;
}

/** Sends one fuzzed request and checks the answer; returns its status. */
async function send(method: string, path: string, request: FuzzRequest): Promise<number> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) headers.set(name, value);
  const authorization = authorizationOf(request.credential);
  if (authorization !== undefined) headers.set('authorization', authorization);

  let body: string | Uint8Array<ArrayBuffer> | FormData | undefined;
  const given = request.body;
  if (given?.kind === 'json') body = JSON.stringify(given.value) ?? 'null';
  if (given?.kind === 'text') body = given.text;
  if (given?.kind === 'bytes') body = new Uint8Array(given.bytes);
  if (given?.kind === 'form') {
    const form = new FormData();
    for (const [name, value] of Object.entries(given.fields)) form.append(name, value);
    if (given.file)
      form.append(
        'file',
        new Blob([new Uint8Array(given.file)], { type: given.fileType }),
        'f.bin',
      );
    body = form;
  }
  // A form brings its own multipart type and boundary; otherwise the fuzzed type, if any.
  const contentType =
    given?.kind === 'json' ? (given.contentType ?? request.contentType) : request.contentType;
  if (given && given.kind !== 'form' && contentType !== undefined) {
    headers.set('content-type', contentType);
  }

  const search = new URLSearchParams(request.query).toString();
  const url = `${path}${search ? `?${search}` : ''}`;
  const response = await app.request(url, { method, headers, body });
  await expectWellFormed(response, method);
  return response.status;
}

function requestArb(
  withBody: fc.Arbitrary<unknown> | undefined,
  validBody?: fc.Arbitrary<unknown> | undefined,
) {
  return fc.record(
    {
      credential: credentialArb,
      headers: headerArb,
      query: queryArb,
      contentType: contentTypeArb,
      ...(withBody ? { body: bodyArb(withBody, validBody) } : {}),
    },
    { requiredKeys: ['credential', 'headers', 'query'] },
  ) as fc.Arbitrary<FuzzRequest>;
}

const fuzzOptions = {
  numRuns: RUNS,
  endOnFailure: true,
  ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
} as const;
const path = (template: string, id: string) =>
  template.replace('{id}', encodeURIComponent(idOf(id)));

describe(`fuzzing the public routes (${RUNS} requests each)`, () => {
  // `succeeds`: the fuzzing must also reach the route's success, not only its refusals.
  const routes: {
    method: string;
    template: string;
    body?: fc.Arbitrary<unknown>;
    validBody?: fc.Arbitrary<unknown>;
    succeeds: boolean;
  }[] = [
    {
      method: 'POST',
      template: '/v1/jobs',
      body: submissionArb,
      validBody: validSubmissionArb,
      succeeds: true,
    },
    { method: 'GET', template: '/v1/jobs', succeeds: true },
    { method: 'GET', template: '/v1/jobs/{id}', succeeds: true },
    {
      method: 'POST',
      template: '/v1/jobs/{id}/cancel',
      body: fc.jsonValue({ maxDepth: 1 }),
      succeeds: true,
    },
    { method: 'GET', template: '/v1/jobs/{id}/events', succeeds: true },
    { method: 'GET', template: '/v1/models', succeeds: true },
    {
      method: 'POST',
      template: '/v1/api-keys',
      body: apiKeyBodyArb,
      validBody: validApiKeyBodyArb,
      succeeds: true,
    },
    { method: 'GET', template: '/v1/api-keys', succeeds: true },
    // Only made-up ids: the fuzzing must not revoke its own keys.
    { method: 'DELETE', template: '/v1/api-keys/{id}', succeeds: false },
  ];

  for (const route of routes) {
    it(
      `${route.method} ${route.template}: never a 5xx, every error problem+json`,
      async () => {
        const needsId = route.template.includes('{id}');
        const statuses = new Set<number>();
        await fc.assert(
          fc.asyncProperty(
            requestArb(route.body, route.validBody),
            needsId ? idArb : fc.constant(''),
            async (request, id) => {
              statuses.add(await send(route.method, path(route.template, id), request));
            },
          ),
          fuzzOptions,
        );

        const seen = [...statuses];
        expect(seen.some((status) => status >= 400)).toBe(true);
        if (route.succeeds) expect(seen.some((status) => status < 300)).toBe(true);
      },
      FUZZ_TIMEOUT_MS,
    );
  }

  it(
    'any method on any path: never a 5xx, every error problem+json',
    async () => {
      const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');
      const pathArb = fc.oneof(
        fc.webPath(),
        fc.webPath().map((p) => `/v1${p}`),
        fc.constantFrom('/v1', '/v1/', '/v1/jobs/', '//v1//jobs', '/v1/jobs/%2e%2e/', '/docs'),
      );
      await fc.assert(
        fc.asyncProperty(
          methodArb,
          pathArb,
          requestArb(fc.jsonValue()),
          async (method, p, request) => {
            const withoutBody = method === 'GET' || method === 'HEAD';
            await send(method, p.startsWith('/') ? p : `/${p}`, {
              ...request,
              body: withoutBody ? undefined : request.body,
            });
          },
        ),
        fuzzOptions,
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
