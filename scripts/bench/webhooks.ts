// `npm run bench:webhooks -- [--json] [--deliveries N] [--concurrency C]`: delivers N webhooks
// to a local sink (a process of its own) with C in flight, once through Kai's real delivery
// path (claim, Standard Webhooks signing, the guarded client with its SSRF checks, the attempt
// recorded and the delivery settled in Postgres) and once through a raw fetch loop that only
// POSTs the same body. The database is a scratch database on DATABASE_URL's server (default:
// the local one), like the other benchmarks; `--db pglite` runs on the embedded PGlite instead.
// Progress goes to stderr; with --json the last stdout line is the result object.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { DEFAULTS } from '../../core/config/defaults.ts';
import type { Database } from '../../core/db/database.ts';
import { loadMigrations } from '../../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../../core/db/migrations/run-migrations.ts';
import { createPgliteDatabase } from '../../core/db/pglite-database.ts';
import { createPostgresDatabase } from '../../core/db/postgres-database.ts';
import { createDeliveryHandler } from '../../core/events/delivery-handler.ts';
import { createLocalTransport } from '../../core/events/local-transport.ts';
import { createGuardedHttpClient } from '../../core/net/guarded-http.ts';
import { createEndpoint } from '../../core/webhooks/webhook-endpoints.ts';
import { progress, ratio, round } from './bench-output.ts';
import { createScratchDatabase, DEFAULT_SERVER_URL } from './scratch-database.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    deliveries: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    db: { type: 'string' },
    rounds: { type: 'string', default: '6' },
  },
});
const deliveries = Number(values.deliveries);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
if (
  !Number.isInteger(deliveries) ||
  deliveries < 1 ||
  !Number.isInteger(concurrency) ||
  concurrency < 1
) {
  throw new RangeError('--deliveries and --concurrency take whole numbers of at least 1.');
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../supabase/migrations', import.meta.url));
const SINK = fileURLToPath(new URL('./webhook-sink.ts', import.meta.url));
const logger = pino({ level: 'silent' });
const BODY = {
  type: 'job.completed',
  timestamp: new Date().toISOString(),
  data: {
    jobId: randomUUID(),
    type: 'texture.embed',
    status: 'completed',
    result: { label: 'oak' },
  },
};

/** Runs `work(i)` for i in [0, n) with `c` in flight; resolves with the seconds it took. */
async function inFlight(n: number, c: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) await work(next++);
    }),
  );
  return (performance.now() - startedAt) / 1000;
}

async function startSink(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port));
    child.once('exit', (code) => reject(new Error(`the sink exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

const driver = values.db ?? 'postgres';
if (driver !== 'postgres' && driver !== 'pglite')
  throw new RangeError('--db is postgres or pglite.');
const scratch =
  driver === 'postgres'
    ? await createScratchDatabase(process.env.DATABASE_URL ?? DEFAULT_SERVER_URL, 'webhooks')
    : undefined;
const db: Database = scratch
  ? createPostgresDatabase({
      url: scratch.url,
      // The pool Kai runs with when DATABASE_POOL_MAX is unset.
      poolMax: DEFAULTS.DATABASE_POOL_MAX,
      connectTimeoutMs: 10_000,
      prepare: true,
      logger,
    })
  : await createPgliteDatabase();
const sink = await startSink();
const sinkCount = async () => Number(await (await fetch(`${sink.url}/count`)).text());

try {
  await runMigrations(db, await loadMigrations(MIGRATIONS_DIR), logger);
  progress(
    `webhooks: ${deliveries} deliveries, ${concurrency} in flight, ${driver}, sink ${sink.url}`,
  );

  // Kai: the delivery handler exactly as the delivery endpoint runs it.
  const http = createGuardedHttpClient({ timeoutMs: 5000, allow: ['127.0.0.1'] });
  const transport = createLocalTransport({
    db,
    logger,
    signingKey: 'sig_bench',
    deliveryUrl: 'http://kai.internal/d',
    callbackUrl: 'http://kai.internal/c',
    dispatch: () => Promise.reject(new Error('not used: every delivery succeeds')),
    schedule: { baseMs: 1000, maxMs: 60_000 },
    concurrency: 1,
    flowParallelism: 1,
    pollIntervalMs: 60_000,
  });
  // Counts the statements the delivery path sends, for the log.
  let statements = 0;
  let statementMs = 0;
  const counted = {
    ...db,
    query: (async (text: string, params?: readonly unknown[]) => {
      statements += 1;
      const startedAt = performance.now();
      try {
        return await db.query(text, params);
      } finally {
        statementMs += performance.now() - startedAt;
      }
    }) as typeof db.query,
  };
  const handler = createDeliveryHandler({
    db: counted,
    logger,
    http,
    transport,
    schedule: { baseMs: 1000, maxMs: 60_000 },
    failureThreshold: 1000,
    providers: {},
  });
  const owner = randomUUID();
  const endpoint = await createEndpoint(db, owner, { url: `${sink.url}/hook` });

  const prepare = async (n: number) =>
    (
      await db.query<{ id: string }>(
        `insert into public.deliveries (event_id, event_type, channel, owner_id, endpoint_id,
           payload, max_attempts)
         select gen_random_uuid(), 'job.completed', 'webhook', $1, $2, $3::jsonb, 4
         from generate_series(1, $4)
         returning id`,
        [owner, endpoint.id, BODY, n],
      )
    ).map((r) => r.id);

  const runKai = async (ids: string[]) => {
    let failed = 0;
    const seconds = await inFlight(ids.length, concurrency, async (i) => {
      const answer = await handler.handle(
        { deliveryId: ids[i] as string, replay: 0, retriedBefore: 0 },
        0,
      );
      if (answer.outcome !== 'delivered') failed += 1;
    });
    return { seconds, failed };
  };

  const body = JSON.stringify(BODY);
  const runRaw = async (n: number) => {
    let failed = 0;
    const seconds = await inFlight(n, concurrency, async () => {
      const response = await fetch(`${sink.url}/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await response.text();
      if (!response.ok) failed += 1;
    });
    return { seconds, failed };
  };

  // Warm both paths (JIT, sockets, prepared statements), then measure.
  const warm = Math.min(500, deliveries);
  await runKai(await prepare(warm));
  await runRaw(warm);

  // The machine's load drifts: the two paths take turns in rounds (alternating which goes
  // first), and each one's rate is its deliveries over its summed time.
  const ids = await prepare(deliveries);
  const per = Math.ceil(deliveries / rounds);
  const raw = { seconds: 0, failed: 0, arrived: 0 };
  const kai = { seconds: 0, failed: 0, arrived: 0 };
  statements = 0;
  for (let r = 0; r < rounds; r += 1) {
    const slice = ids.slice(r * per, (r + 1) * per);
    const order = r % 2 === 0 ? (['raw', 'kai'] as const) : (['kai', 'raw'] as const);
    for (const path of order) {
      const before = await sinkCount();
      const run = path === 'raw' ? await runRaw(slice.length) : await runKai(slice);
      const into = path === 'raw' ? raw : kai;
      into.seconds += run.seconds;
      into.failed += run.failed;
      into.arrived += (await sinkCount()) - before;
    }
  }
  const kaiStatements = statements;

  const [check] = await db.query<{ delivered: number; attempts: number }>(
    `select count(*) filter (where status = 'delivered')::int as delivered,
       (select count(*)::int from public.delivery_attempts where delivery_id = any($1::uuid[])) as attempts
     from public.deliveries where id = any($1::uuid[])`,
    [ids],
  );
  if (
    raw.failed + kai.failed > 0 ||
    raw.arrived !== deliveries ||
    kai.arrived !== deliveries ||
    check?.delivered !== deliveries ||
    check?.attempts !== deliveries
  ) {
    throw new Error(
      `Not every delivery arrived once: raw ${raw.arrived} (failed ${raw.failed}), kai ` +
        `${kai.arrived} (failed ${kai.failed}), recorded ${check?.delivered}/${check?.attempts}.`,
    );
  }

  const kaiPerSec = round(deliveries / kai.seconds);
  const rawFetchPerSec = round(deliveries / raw.seconds);
  progress(
    `raw fetch: ${rawFetchPerSec}/s; kai: ${kaiPerSec}/s (${ratio(kaiPerSec, rawFetchPerSec)} ` +
      `of raw), ${round(kaiStatements / deliveries)} statements per delivery, ` +
      `${round(statementMs / Math.max(1, statements))} ms each`,
  );
  http.close();

  const result = { bench: 'webhooks', deliveries, kaiPerSec, rawFetchPerSec };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else progress(JSON.stringify(result));
} finally {
  sink.child.kill('SIGTERM');
  await db.close();
  await scratch?.drop();
}
