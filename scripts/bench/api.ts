// `npm run bench:api -- [--json] [--duration S] [--connections C[,C...]] [--warmup S] [--rounds
// N]`: drives, with autocannon in this process, a bare Hono hello route and Kai's `POST /v1/jobs`
// and `GET /v1/jobs/{id}` on one Node server, over the real database (PGlite in memory, or a
// scratch database on the server at DATABASE_URL) with a real JWT and Kai's whole edge (request id,
// logger, CORS, body limit, rate limit, authentication, idempotency). Progress goes to stderr; with
// --json the last stdout line is {"bench":"api","bareRps":X,"submitRps":X,"getRps":X,
// "submitP99Ms":X}. A fourth phase, on stderr only, runs Kai's middleware before an empty handler.
// The machine's load drifts, so the phases take turns in rounds (`--rounds`, the order rotating),
// and each one's rate is its requests over its summed time; its p99 is the worst round's.
//
// Each phase runs at every connection count of `--connections` (10 and 32 unless given), and its
// rate is the best of them: its throughput at saturation, as a capacity is measured. The bare route
// saturates this thread with 10 connections, while a Kai route at 10 leaves it idle part of the
// time, each request waiting for the database's thread; more connections only queue the bare
// route's requests (its rate stays or falls), so every route is measured at its own best, none at
// another's. Each count's rates and ratios are printed on stderr.
//
// Before the rounds each phase is driven `--warmup` seconds (5) at each count, 10 s in all at the
// two default counts: a route's rate climbs while V8 compiles its code and PGlite's WebAssembly
// tiers up. Driven in 2 s steps after a start (throwaway script), the bare route went 6,290 ->
// 7,293 -> 7,718 and then held near 8,000 req/s; `GET /v1/jobs/{id}` went 2,135 -> 2,293 -> 2,620
// -> 3,020 -> 3,335 and held near 3,600 from its sixth step. With 1 s, the rounds measured Kai's
// routes half cold.
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
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10,32' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
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
const connectionCounts = [
  ...new Set(
    (values.connections ?? '').split(',').map((text) => Math.round(positive('connections', text))),
  ),
];
const warmupSeconds = positive('warmup', values.warmup);
const rounds = Math.round(positive('rounds', values.rounds));

/** The goals of the issue: Kai's routes as a share of the bare route's throughput. */
const GOALS = { submit: 0.25, get: 0.4 };

interface Phase {
  rps: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

interface Target {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/** Runs autocannon against one request for `seconds` over `connections` connections. */
async function drive(target: Target, connections: number, seconds: number): Promise<Phase> {
  const result = await autocannon({
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers,
    body: target.body,
    connections,
    duration: seconds,
  });
  return {
    rps: result.requests.total / seconds,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** A phase's totals at one connection count, over its rounds. */
interface Level extends Phase {
  connections: number;
  seconds: number;
}

/** A phase's result: its best level, and every level it ran at. */
interface Measured extends Level {
  levels: Level[];
}

/**
 * Warms every target up, then drives them in `rounds` rounds, each round in another order and
 * each target at every connection count: per target and count, the rate over all its rounds
 * and its worst round's p99; per target, the count at which its rate was highest.
 */
async function driveInRounds(targets: Record<string, Target>): Promise<Record<string, Measured>> {
  const labels = Object.keys(targets);
  for (const label of labels) {
    for (const connections of connectionCounts) {
      await drive(targets[label] as Target, connections, warmupSeconds);
    }
  }

  const totals = new Map<string, Level[]>(
    labels.map((label) => [
      label,
      connectionCounts.map((connections) => ({
        connections,
        rps: 0,
        requests: 0,
        seconds: 0,
        p99Ms: 0,
        non2xx: 0,
        errors: 0,
      })),
    ]),
  );
  for (let turn = 0; turn < rounds; turn += 1) {
    const order = labels.map((_, i) => labels[(i + turn) % labels.length] as string);
    for (const label of order) {
      for (const total of totals.get(label) as Level[]) {
        const phase = await drive(targets[label] as Target, total.connections, durationSeconds);
        total.requests += phase.requests;
        total.seconds += durationSeconds;
        total.p99Ms = Math.max(total.p99Ms, phase.p99Ms);
        total.non2xx += phase.non2xx;
        total.errors += phase.errors;
        progress(
          `  round ${turn + 1} ${label.padEnd(22)} ${String(total.connections).padStart(3)} ` +
            `connections ${round(phase.rps)} req/s`,
        );
      }
    }
  }

  const phases: Record<string, Measured> = {};
  for (const [label, levels] of totals) {
    for (const level of levels) level.rps = level.requests / Math.max(level.seconds, 1e-9);
    const best = levels.reduce((a, b) => (b.rps > a.rps ? b : a));
    phases[label] = { ...best, levels };
    progress(
      `  ${label.padEnd(22)} ${round(best.rps)} req/s at ${best.connections} connections, ` +
        `p99 ${best.p99Ms} ms, ${best.requests} requests` +
        levels.map((level) => `; ${level.connections}: ${round(level.rps)} req/s`).join(''),
    );
  }
  return phases;
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  // Kai as `npm start` builds it (its pool of DATABASE_POOL_MAX connections), but silent, and
  // with limits no benchmark reaches: the rate limiter still counts every request (in memory,
  // or on REDIS_URL's Redis when set).
  const config = loadConfig(process.env);
  const poolMax = config.database.driver === 'postgres' ? config.database.poolMax : 1;
  const bench = await openKaiBenchDatabase(serverUrl, { label: 'api', poolMax });
  progress(
    `bench:api on ${bench.where}, ${connectionCounts.join(' and ')} connections, ${rounds} ` +
      `rounds of ${durationSeconds}s a phase and count`,
  );
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

    const phases = await driveInRounds({
      'GET /hello (bare)': { url: `${server.url}/hello` },
      'POST /v1/jobs': {
        url: `${server.url}/v1/jobs`,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: submission,
      },
      'GET /v1/jobs/{id}': { url: `${server.url}/v1/jobs/${id}`, headers: auth },
      'GET (Kai edge only)': { url: `${server.url}/v1/bench-edge`, headers: auth },
    });
    const bareRun = phases['GET /hello (bare)'] as Measured;
    const submitRun = phases['POST /v1/jobs'] as Measured;
    const getRun = phases['GET /v1/jobs/{id}'] as Measured;
    const edgeRun = phases['GET (Kai edge only)'] as Measured;

    for (const [label, run] of [
      ['bare', bareRun],
      ['submit', submitRun],
      ['get', getRun],
      ['edge', edgeRun],
    ] as const) {
      for (const level of run.levels) {
        if (level.non2xx > 0 || level.errors > 0) {
          throw new Error(
            `The ${label} phase had ${level.non2xx} non-2xx answers and ${level.errors} errors ` +
              `at ${level.connections} connections.`,
          );
        }
      }
    }

    // The ratios at each count alone too, for comparison with runs at one count.
    connectionCounts.forEach((connections, i) => {
      const at = (run: Measured) => (run.levels[i] as Level).rps;
      progress(
        `  at ${connections} connections: submit/bare ${ratio(at(submitRun), at(bareRun))}, ` +
          `get/bare ${ratio(at(getRun), at(bareRun))}, edge/bare ` +
          `${ratio(at(edgeRun), at(bareRun))}`,
      );
    });

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
