// `npm start` as an operator runs it: a child process on a free port, probed over HTTP, stopped
// with Ctrl-C, and refusing bad input with one line on stderr. Both legs: PGlite under a fresh
// data dir, or (DATABASE_URL set) a fresh empty database on the real Postgres.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { envSchema } from '../core/config/schema.ts';
import { REPO_ROOT } from './helpers/migrations-dir.ts';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.ts';

const ON_POSTGRES = Boolean(process.env.DATABASE_URL);

const HEALTHZ_WITHIN_MS = 30_000;
const EXIT_WITHIN_MS = 10_000;
/** A start-up that cannot succeed should say so well before a person gives up waiting. */
const FAILURE_WITHIN_MS = 20_000;
const POLL_INTERVAL_MS = 100;

/** One `npm start` child: its output so far and, once its pipes close, how it ended. */
interface KaiRun {
  child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  /** When npm exited (`performance.now()`), before its pipes finish closing. */
  exitedAtMs?: number;
  ended?: { code: number | null; signal: NodeJS.Signals | null };
  closed: Promise<void>;
}

const runs: KaiRun[] = [];
const dataDirs: string[] = [];
const testDbs: TestDatabase[] = [];
const portBlockers: Server[] = [];

/**
 * Spawns `npm start` in its own process group, so that npm and all it starts can be killed
 * together, with the test's variables in place of any the parent's environment holds for Kai.
 */
function startKai(kaiEnv: Record<string, string>): KaiRun {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(envSchema.shape)) delete env[name];
  Object.assign(env, { PORT: '0', LOG_LEVEL: 'info' }, kaiEnv);

  const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true });
  const run: KaiRun = { child, stdout: '', stderr: '', closed: Promise.resolve() };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
  child.once('exit', () => (run.exitedAtMs = performance.now()));
  run.closed = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      run.ended = { code, signal };
      resolve();
    });
  });

  runs.push(run);
  return run;
}

/** What a failing test shows of a run: everything it printed. */
function transcript(run: KaiRun): string {
  return `--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** Waits until npm has exited and its pipes are closed; returns its exit code. */
async function waitForExit(run: KaiRun, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });

  try {
    const outcome = await Promise.race([run.closed, timedOut]);
    if (outcome === 'timeout') {
      throw new Error(`npm start did not exit within ${timeoutMs} ms.\n${transcript(run)}`);
    }
    return run.ended?.code ?? null;
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `probe` until it returns a value; fails after `timeoutMs` or when the run has ended. */
async function waitFor<T>(
  what: string,
  run: KaiRun,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadlineMs = performance.now() + timeoutMs;

  while (true) {
    const value = await probe();
    if (value !== undefined) return value;

    if (run.ended) {
      throw new Error(`npm start exited (${run.ended.code}) before ${what}.\n${transcript(run)}`);
    }
    if (performance.now() > deadlineMs) {
      throw new Error(`${what} did not happen within ${timeoutMs} ms.\n${transcript(run)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** The URL from Kai's `Kai listening on …` log line, once it has printed one. */
function listeningUrl(run: KaiRun): string | undefined {
  // Complete lines only: the last one may still be arriving.
  for (const line of run.stdout.split('\n').slice(0, -1)) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
    if (typeof entry.url === 'string' && entry.msg === `Kai listening on ${entry.url}`) {
      return entry.url;
    }
  }
  return undefined;
}

/** GETs `url`; undefined while nothing listens there. */
async function get(url: string): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const response = await fetch(url);
    return { status: response.status, body: await response.json() };
  } catch {
    return undefined;
  }
}

/** Waits for the listening line, then for `/healthz` to answer 200; returns Kai's URL. */
async function waitForHealthy(run: KaiRun, timeoutMs: number): Promise<string> {
  const deadlineMs = performance.now() + timeoutMs;
  const url = await waitFor('the listening line', run, timeoutMs, async () => listeningUrl(run));

  await waitFor('/healthz answering 200', run, deadlineMs - performance.now(), async () => {
    const answer = await get(`${url}/healthz`);
    return answer?.status === 200 ? answer : undefined;
  });
  return url;
}

/** The lines Kai wrote to stderr, without npm's banner and its own error report. */
function kaiStderrLines(run: KaiRun): string[] {
  return run.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('>') && !line.startsWith('npm'));
}

async function freshDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kai-start-'));
  dataDirs.push(dataDir);
  return dataDir;
}

/**
 * The database variables of this leg: a fresh data dir for PGlite, and on the real Postgres a
 * fresh empty database as well. The data dir is set on both legs so that no run touches `.kai`.
 */
async function freshDatabaseEnv(): Promise<Record<string, string>> {
  const env = { KAI_DATA_DIR: await freshDataDir() };
  if (!ON_POSTGRES) return env;

  const testDb = await createTestDatabase({ empty: true });
  testDbs.push(testDb);
  if (!testDb.url) throw new Error('the real Postgres leg gave a test database without a URL');
  return { ...env, DATABASE_URL: testDb.url };
}

/** Listens on a free port of 127.0.0.1 with a plain TCP server, so that Kai finds it taken. */
async function takenPort(): Promise<number> {
  const server = createServer();
  portBlockers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function killLeftovers(): Promise<void> {
  for (const run of runs.splice(0)) {
    // The whole group: npm and everything it started. A group already gone is fine.
    try {
      if (run.child.pid !== undefined) process.kill(-run.child.pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    await waitForExit(run, EXIT_WITHIN_MS).catch(() => {});
  }

  await Promise.all(
    portBlockers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
  await Promise.all(testDbs.splice(0).map((testDb) => testDb.drop()));
  await Promise.all(dataDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

afterEach(killLeftovers);
afterAll(killLeftovers);

describe(`npm start on ${ON_POSTGRES ? 'the real Postgres' : 'PGlite'}`, () => {
  it(
    'answers /healthz within 30 s, becomes ready, and exits 0 within 10 s of Ctrl-C',
    async ({ annotate }) => {
      const startedAtMs = performance.now();
      const run = startKai(await freshDatabaseEnv());

      const url = await waitForHealthy(run, HEALTHZ_WITHIN_MS);
      const healthzMs = Math.round(performance.now() - startedAtMs);
      await annotate(`/healthz answered 200 after ${healthzMs} ms`);
      expect(healthzMs).toBeLessThan(HEALTHZ_WITHIN_MS);
      expect(await get(`${url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });

      const ready = await waitFor('/readyz answering 200', run, HEALTHZ_WITHIN_MS, async () => {
        const answer = await get(`${url}/readyz`);
        return answer?.status === 200 ? answer : undefined;
      });
      expect(ready.body).toEqual({
        status: 'ready',
        checks: { database: true, migrations: true, pool: true },
      });

      // To npm alone, as a process manager sends it: npm must forward it to Kai.
      const signalledAtMs = performance.now();
      run.child.kill('SIGINT');
      const code = await waitForExit(run, EXIT_WITHIN_MS);
      const exitMs = Math.round((run.exitedAtMs ?? performance.now()) - signalledAtMs);
      await annotate(`npm start exited ${code} ${exitMs} ms after SIGINT`);

      expect(code, transcript(run)).toBe(0);
      expect(exitMs).toBeLessThan(EXIT_WITHIN_MS);
    },
    HEALTHZ_WITHIN_MS * 2 + EXIT_WITHIN_MS,
  );

  it.skipIf(ON_POSTGRES)(
    'refuses a second process on the same data dir and leaves the first one serving',
    async () => {
      const dataDir = await freshDataDir();
      const first = startKai({ KAI_DATA_DIR: dataDir });
      const url = await waitForHealthy(first, HEALTHZ_WITHIN_MS);

      const second = startKai({ KAI_DATA_DIR: dataDir });
      const code = await waitForExit(second, FAILURE_WITHIN_MS);

      expect(code, transcript(second)).not.toBe(0);
      expect(code).not.toBeNull();
      expect(second.stderr).toContain('another Kai process is using the data dir');
      expect(await get(`${url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    },
    HEALTHZ_WITHIN_MS + FAILURE_WITHIN_MS + EXIT_WITHIN_MS,
  );

  it.each([
    {
      problem: 'DATABASE_URL is not a Postgres URL',
      env: async () => ({ KAI_DATA_DIR: await freshDataDir(), DATABASE_URL: 'mysql://u@h/db' }),
      expected: 'DATABASE_URL',
    },
    {
      problem: 'the database cannot be reached',
      env: async () => ({
        KAI_DATA_DIR: await freshDataDir(),
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres',
        DATABASE_CONNECT_TIMEOUT_MS: '2000',
      }),
      expected: 'cannot reach the database',
    },
    {
      problem: 'PORT is not a number',
      env: async () => ({ ...(await freshDatabaseEnv()), PORT: 'http' }),
      expected: 'PORT',
    },
    {
      problem: 'the port is already in use',
      env: async () => ({ ...(await freshDatabaseEnv()), PORT: String(await takenPort()) }),
      expected: 'already in use',
    },
  ])(
    'exits non-zero with one stderr line naming the problem when $problem',
    async ({ env, expected }) => {
      const run = startKai(await env());

      const code = await waitForExit(run, FAILURE_WITHIN_MS);

      expect(code, transcript(run)).not.toBe(0);
      expect(code).not.toBeNull();
      const lines = kaiStderrLines(run);
      expect(lines, transcript(run)).toHaveLength(1);
      expect(lines[0]).toMatch(/^Kai /);
      expect(lines[0]).toContain(expected);
    },
    FAILURE_WITHIN_MS + EXIT_WITHIN_MS,
  );

  it.skipIf(ON_POSTGRES)(
    'releases the data dir lock when the port is taken, so the next start on a free port works',
    async () => {
      const dataDir = await freshDataDir();
      const refused = startKai({ KAI_DATA_DIR: dataDir, PORT: String(await takenPort()) });
      const refusedCode = await waitForExit(refused, FAILURE_WITHIN_MS);
      expect(refusedCode, transcript(refused)).not.toBe(0);
      expect(refused.stderr).toContain('already in use');

      const next = startKai({ KAI_DATA_DIR: dataDir });
      const url = await waitForHealthy(next, HEALTHZ_WITHIN_MS);

      expect(await get(`${url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    },
    FAILURE_WITHIN_MS + HEALTHZ_WITHIN_MS + EXIT_WITHIN_MS,
  );
});
