// `gpu-pool/main.ts` as its own process, as `npm run pool` runs it on Kubernetes: spawned in a
// process group of its own, found through the probe URL it logs, read through its /metrics.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { envSchema } from '../../core/config/schema.ts';
import { REPO_ROOT } from './migrations-dir.ts';

const POLL_INTERVAL_MS = 50;

/** One pool process: what it printed so far and, once its pipes closed, how it ended. */
export interface PoolProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  ended?: { code: number | null; signal: NodeJS.Signals | null };
  closed: Promise<void>;
}

/**
 * Spawns `node gpu-pool/main.ts` from the repository root with the Node that runs the tests,
 * in its own process group so that `killPoolProcess` ends it and all it started. Every Kai
 * variable of the parent's environment is dropped; `kaiEnv` gives the ones the test wants.
 */
export function startPoolProcess(kaiEnv: Record<string, string>): PoolProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(envSchema.shape)) delete env[name];
  Object.assign(env, { METRICS_PORT: '0', LOG_LEVEL: 'info' }, kaiEnv);

  const child = spawn(process.execPath, ['gpu-pool/main.ts'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
  });
  const pool: PoolProcess = { child, stdout: '', stderr: '', closed: Promise.resolve() };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (pool.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (pool.stderr += chunk));
  pool.closed = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      pool.ended = { code, signal };
      resolve();
    });
  });
  return pool;
}

/** Everything a pool process printed, for the message of a failing assertion. */
export function transcript(pool: PoolProcess): string {
  return `--- pid ${pool.child.pid} stdout ---\n${pool.stdout}\n--- stderr ---\n${pool.stderr}`;
}

/** SIGKILLs the pool's process group and waits for its pipes to close; a gone group is fine. */
export async function killPoolProcess(pool: PoolProcess): Promise<void> {
  try {
    if (pool.child.pid !== undefined) process.kill(-pool.child.pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  await pool.closed;
}

/**
 * Calls `probe` until it returns a value. Fails after `timeoutMs`, or as soon as one of
 * `watched` has exited, with what those processes printed.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  watched: readonly PoolProcess[] = [],
): Promise<T> {
  const deadlineMs = performance.now() + timeoutMs;

  while (true) {
    const value = await probe();
    if (value !== undefined) return value;

    const dead = watched.find((pool) => pool.ended);
    if (dead) {
      const code = dead.ended?.code;
      throw new Error(`A pool process exited (${code}) before ${what}.\n${transcript(dead)}`);
    }
    if (performance.now() > deadlineMs) {
      const printed = watched.map(transcript).join('\n');
      throw new Error(`${what} did not happen within ${timeoutMs} ms.\n${printed}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** The JSON log lines a pool process has completed so far. */
export function logLines(pool: PoolProcess): Record<string, unknown>[] {
  return pool.stdout
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The URL of the pool's probe server, from its `Kai pool probes on …` line, once printed. */
function probeUrl(pool: PoolProcess): string | undefined {
  const line = logLines(pool).find(
    (entry) => typeof entry.url === 'string' && entry.msg === `Kai pool probes on ${entry.url}`,
  );
  return line?.url as string | undefined;
}

/** Waits for the probe line and for `/readyz` to answer 200; returns the probe URL. */
export async function waitForReady(pool: PoolProcess, timeoutMs: number): Promise<string> {
  const deadlineMs = performance.now() + timeoutMs;
  const url = await waitFor('the probe line', timeoutMs, async () => probeUrl(pool), [pool]);

  await waitFor(
    '/readyz answering 200',
    deadlineMs - performance.now(),
    async () => {
      const response = await fetch(`${url}/readyz`).catch(() => undefined);
      await response?.body?.cancel();
      return response?.status === 200 ? true : undefined;
    },
    [pool],
  );
  return url;
}

/** One line of Prometheus's text format: a metric name, its labels and its value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** GETs `<url>/metrics` and parses every sample of it. */
export async function scrapeMetrics(url: string): Promise<MetricSample[]> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) throw new Error(`GET ${url}/metrics answered ${response.status}.`);

  const samples: MetricSample[] = [];
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;

    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name as string] = value as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/**
 * The value of the sample called `name` whose labels include `labels`; 0 when there is none,
 * as Prometheus shows nothing for a labelled counter that was never incremented.
 */
export function sampleValue(
  samples: readonly MetricSample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const sample = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([key, v]) => s.labels[key] === v),
  );
  return sample?.value ?? 0;
}
