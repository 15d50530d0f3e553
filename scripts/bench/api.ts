// `npm run bench:api -- [--json] [--duration S] [--connections C]`: drives, with autocannon in
// this process, a bare Hono hello route and Kai's `POST /v1/jobs` and `GET /v1/jobs/{id}` on
// one Node server, over the real database (PGlite in memory, or a scratch database on the
// server at DATABASE_URL) with a real JWT and Kai's whole edge (request id, logger, CORS, body
// limit, rate limit, authentication, idempotency). Progress goes to stderr; with --json the
// last stdout line is {"bench":"api","bareRps":X,"submitRps":X,"getRps":X,"submitP99Ms":X}.
// A fourth phase, on stderr only, runs Kai's middleware before an empty handler.
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { createJwtVerifier } from '../../core/auth/jwt-verifier.ts';
import { loadConfig } from '../../core/config/load-config.ts';
import { createApp } from '../../core/http/app.ts';
import { createLogger } from '../../core/logging/logger.ts';
import { serveNode } from '../../core/node/serve-node.ts';
import { progress, ratio, round } from './bench-output.ts';
import { openKaiBenchDatabase } from './kai-bench-database.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
  },
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`--${name} must be a positive number, not ${text}.`);
  }
  return value;
}

const durationSeconds = positive('duration', values.duration);
const connections = positive('connections', values.connections);
const warmupSeconds = positive('warmup', values.warmup);

/** The goals of the issue: Kai's routes as a share of the bare route's throughput. */
const GOALS = { submit: 0.25, get: 0.4 };

interface Phase {
  rps: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/** Runs autocannon against one request for `seconds`; warms up first when asked. */
async function drive(
  label: string,
  options: {
    url: string;
    method?: 'GET' | 'POST';
    headers?: Record<string, string>;
    body?: string;
  },
): Promise<Phase> {
  const run = (seconds: number) =>
    autocannon({
      url: options.url,
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body,
      connections,
      duration: seconds,
    });

  await run(warmupSeconds);
  const result = await run(durationSeconds);
  const phase = {
    rps: result.requests.average,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  progress(
    `  ${label.padEnd(22)} ${round(phase.rps)} req/s, p99 ${phase.p99Ms} ms, ` +
      `${phase.requests} requests, ${phase.non2xx} non-2xx, ${phase.errors} errors`,
  );
  return phase;
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  const bench = await openKaiBenchDatabase(serverUrl, { label: 'api', poolMax: 10 });
  progress(`bench:api on ${bench.where}, ${connections} connections, ${durationSeconds}s a phase`);

  // Kai as `npm start` builds it, but silent, and with limits no benchmark reaches: the rate
  // limiter still counts every request (in memory, or on REDIS_URL's Redis when set).
  const config = loadConfig(process.env);
  const secret = randomBytes(32).toString('base64url');
  const issuer = 'kai-bench';
  const kai = createApp({
    db: bench.db,
    logger: createLogger({ level: 'silent' }),
    readiness: () => ({ migrations: true, pool: true }),
    verifyJwt: createJwtVerifier({ secret, issuer, audience: 'authenticated' }),
    queueClasses: config.queue.classes,
    edge: {
      ...config.edge,
      rateLimit: {
        ...config.edge.rateLimit,
        perMinute: 1_000_000,
        submitPerMinute: 1_000_000,
        authFailuresPerMinute: 1_000_000,
      },
    },
  });

  // Kai's whole middleware stack (request id, log line, body limit, authentication, rate limit,
  // idempotency) before a handler that does nothing: how much of a route's time is the edge.
  kai.get('/v1/bench-edge', (c) => c.text('hello'));

  const bare = new Hono();
  bare.get('/hello', (c) => c.text('hello'));

  // One server for both, so they share the process, the event loop and the HTTP stack.
  const server = await serveNode(
    {
      fetch: (request: Request, env: unknown) =>
        new URL(request.url).pathname === '/hello'
          ? bare.fetch(request, env)
          : kai.fetch(request, env),
    },
    { host: '127.0.0.1', port: 0 },
  );

  try {
    const token = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(randomUUID())
      .setIssuer(issuer)
      .setAudience('authenticated')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const auth = { authorization: `Bearer ${token}` };
    const submission = JSON.stringify({ type: 'noop', payload: {} });

    // A job to read back, submitted through the API itself.
    const created = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: submission,
    });
    if (created.status !== 202) {
      throw new Error(`POST /v1/jobs answered ${created.status}: ${await created.text()}`);
    }
    const { id } = (await created.json()) as { id: string };

    const bareRun = await drive('GET /hello (bare)', { url: `${server.url}/hello` });
    const submitRun = await drive('POST /v1/jobs', {
      url: `${server.url}/v1/jobs`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: submission,
    });
    const getRun = await drive('GET /v1/jobs/{id}', {
      url: `${server.url}/v1/jobs/${id}`,
      headers: auth,
    });

    const edgeRun = await drive('GET (Kai edge only)', {
      url: `${server.url}/v1/bench-edge`,
      headers: auth,
    });

    for (const [label, run] of [
      ['bare', bareRun],
      ['submit', submitRun],
      ['get', getRun],
      ['edge', edgeRun],
    ] as const) {
      if (run.non2xx > 0 || run.errors > 0) {
        throw new Error(
          `The ${label} phase had ${run.non2xx} non-2xx answers and ${run.errors} errors.`,
        );
      }
    }

    const submitShare = submitRun.rps / bareRun.rps;
    const getShare = getRun.rps / bareRun.rps;
    progress(
      `  submit/bare ${ratio(submitRun.rps, bareRun.rps)} (goal >= ${GOALS.submit}x: ` +
        `${submitShare >= GOALS.submit ? 'met' : 'NOT met'}), get/bare ` +
        `${ratio(getRun.rps, bareRun.rps)} (goal >= ${GOALS.get}x: ` +
        `${getShare >= GOALS.get ? 'met' : 'NOT met'}); Kai's edge alone ` +
        `${ratio(edgeRun.rps, bareRun.rps)}`,
    );

    const result = {
      bench: 'api',
      bareRps: round(bareRun.rps),
      submitRps: round(submitRun.rps),
      getRps: round(getRun.rps),
      submitP99Ms: submitRun.p99Ms,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await server.close();
    await bench.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:api failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
