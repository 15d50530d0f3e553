// `npm run bench:queue -- [--json] [--jobs N] [--concurrency C] [--rounds R]`: drains the same
// backlog of no-op jobs through Kai, pg-boss and graphile-worker on one Postgres server
// (DATABASE_URL), each in a fresh database of its own, in R rounds (3) that take turns, and
// compares throughput, latency and correctness.
// Progress goes to stderr; with --json the last stdout line is the one result object.
import { parseArgs } from 'node:util';
import { progress, ratio, round } from './bench-output.ts';
import { type CpuSpent, startCpuSplit } from './cpu-split.ts';
import { drain } from './drain.ts';
import { DrainRecorder, type DrainSummary } from './drain-recorder.ts';
import { graphileQueueSystem } from './queue-graphile-worker.ts';
import { kaiQueueSystem } from './queue-kai.ts';
import { pgBossQueueSystem } from './queue-pg-boss.ts';
import type { QueueBenchSettings, QueueSystem } from './queue-system.ts';
import { DEFAULT_SERVER_URL } from './scratch-database.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    'no-analyze': { type: 'boolean', default: false },
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '20' },
    systems: { type: 'string', default: 'kai,pg-boss,graphile-worker' },
    'pool-max': { type: 'string' },
    'enqueue-chunk': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'kai-batch-size': { type: 'string', default: '0' },
    'kai-poll-ms': { type: 'string', default: '10' },
    'kai-prefetch': { type: 'string', default: '500' },
    'pg-boss-batch-size': { type: 'string', default: '0' },
    'graphile-local-queue': { type: 'string', default: '500' },
    'graphile-poll-ms': { type: 'string', default: '10' },
  },
});

function positive(name: string, text: string | undefined, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`--${name} must be a whole number of at least ${min}, not ${text}.`);
  }
  return value;
}

interface SystemResult extends DrainSummary {
  system: QueueSystem['name'];
  /** The drain's length, so rounds add up as jobs over summed time. */
  seconds: number;
  /** CPU time the drain took, and the jobs it handled, for the CPU a job costs. */
  cpu: CpuSpent;
  handled: number;
}

async function measure(system: QueueSystem, settings: QueueBenchSettings): Promise<SystemResult> {
  progress(`\n${system.name}: ${system.describe(settings)}`);
  const recorder = new DrainRecorder();

  const enqueueStartMs = performance.now();
  const queue = await system.prepare(settings, recorder);
  const enqueueSeconds = (performance.now() - enqueueStartMs) / 1000;
  progress(`  ${settings.jobs} jobs enqueued (schema included) in ${enqueueSeconds.toFixed(1)}s`);

  try {
    const timeoutMs = Math.max(120_000, settings.jobs * 10);
    const split = startCpuSplit(settings.serverUrl);
    const times = await drain(queue, recorder, timeoutMs);
    const cpu = split.stop();
    const summary = recorder.summary(times.startMs, times.endMs);
    if (!times.finished) progress('  the drain did NOT finish within its time limit');

    if (recorder.handledCount > 0) {
      const { firstMs, lastMs } = recorder.handledSpanMs();
      progress(
        `  drained in ${((times.endMs - times.startMs) / 1000).toFixed(2)}s: first job handled ` +
          `${(firstMs - times.startMs).toFixed(0)} ms after start, last completion written ` +
          `${(times.endMs - lastMs).toFixed(0)} ms after the last handler`,
      );
    }
    progress(
      `  ${round(summary.jobsPerSec)} jobs/s, latency p50 ${round(summary.p50LatencyMs)} ms, ` +
        `p99 ${round(summary.p99LatencyMs)} ms, lost ${summary.lost}, ` +
        `duplicated ${summary.duplicated}`,
    );
    progress(`  CPU a job: ${cpuPerJob(cpu, recorder.handledCount)}`);
    return {
      system: system.name,
      ...summary,
      seconds: (times.endMs - times.startMs) / 1000,
      cpu,
      handled: recorder.handledCount,
    };
  } finally {
    await queue.stop();
  }
}

/** CPU microseconds a job, on each side, as the progress lines say it. */
function cpuPerJob(cpu: CpuSpent, jobs: number): string {
  const us = (ms: number) => `${Math.round((ms * 1000) / Math.max(jobs, 1))} us`;
  const server = cpu.serverMs === null ? 'not measured (not local)' : us(cpu.serverMs);
  return `this process ${us(cpu.processMs)}, the Postgres server ${server}`;
}

/** One system's rounds as one result: jobs over summed time, median p50, worst p99. */
function combine(system: QueueSystem['name'], rounds: readonly SystemResult[]): SystemResult {
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const handled = rounds.reduce((sum, r) => sum + r.jobsPerSec * r.seconds, 0);
  const p50s = rounds.map((r) => r.p50LatencyMs).sort((a, b) => a - b);
  return {
    system,
    seconds,
    jobsPerSec: seconds > 0 ? handled / seconds : 0,
    p50LatencyMs: p50s[Math.floor((p50s.length - 1) / 2)] ?? 0,
    p99LatencyMs: Math.max(0, ...rounds.map((r) => r.p99LatencyMs)),
    lost: rounds.reduce((sum, r) => sum + r.lost, 0),
    duplicated: rounds.reduce((sum, r) => sum + r.duplicated, 0),
    cpu: {
      processMs: rounds.reduce((sum, r) => sum + r.cpu.processMs, 0),
      serverMs: rounds.some((r) => r.cpu.serverMs === null)
        ? null
        : rounds.reduce((sum, r) => sum + (r.cpu.serverMs ?? 0), 0),
    },
    handled: rounds.reduce((sum, r) => sum + r.handled, 0),
  };
}

async function main(): Promise<void> {
  const concurrency = positive('concurrency', values.concurrency);
  const settings: QueueBenchSettings = {
    serverUrl: process.env.DATABASE_URL ?? DEFAULT_SERVER_URL,
    jobs: positive('jobs', values.jobs),
    concurrency,
    poolMax: values['pool-max'] ? positive('pool-max', values['pool-max'], 2) : concurrency + 2,
    enqueueChunk: positive('enqueue-chunk', values['enqueue-chunk']),
    analyze: !values['no-analyze'],
  };
  const all: QueueSystem[] = [
    kaiQueueSystem({
      batchSizeLimit: positive('kai-batch-size', values['kai-batch-size'], 0),
      pollIntervalMs: positive('kai-poll-ms', values['kai-poll-ms']),
      prefetch: positive('kai-prefetch', values['kai-prefetch'], 0),
    }),
    pgBossQueueSystem({
      batchSize: positive('pg-boss-batch-size', values['pg-boss-batch-size'], 0),
    }),
    graphileQueueSystem({
      localQueueSize: positive('graphile-local-queue', values['graphile-local-queue']),
      pollIntervalMs: positive('graphile-poll-ms', values['graphile-poll-ms']),
    }),
  ];
  const wanted = values.systems.split(',').map((s) => s.trim());
  const systems = all.filter((s) => wanted.includes(s.name));
  if (systems.length === 0)
    throw new RangeError(`--systems names none of kai, pg-boss, graphile-worker.`);

  progress(
    `queue bench: ${settings.jobs} no-op jobs, concurrency ${concurrency}, on ` +
      `${new URL(settings.serverUrl).host}. Every job is enqueued BEFORE the workers start: ` +
      'this measures pure drain throughput, and latency (enqueue to handler) includes the wait ' +
      'in the backlog.',
  );
  // The machine's load drifts, so the systems take turns in rounds, the order rotating; each
  // system's rate is its jobs over its summed drain time, its p50 the median round's and its
  // p99 the worst round's, and every round's lost and duplicated jobs count.
  const rounds = positive('rounds', values.rounds);
  const byRound = new Map<QueueSystem['name'], SystemResult[]>();
  for (let round = 0; round < rounds; round++) {
    progress(`\nround ${round + 1} of ${rounds}`);
    for (let i = 0; i < systems.length; i++) {
      const system = systems[(round + i) % systems.length] as QueueSystem;
      const result = await measure(system, settings);
      byRound.set(system.name, [...(byRound.get(system.name) ?? []), result]);
    }
  }
  const results = systems.map((system) => combine(system.name, byRound.get(system.name) ?? []));

  const rateOf = (name: string) => results.find((r) => r.system === name)?.jobsPerSec ?? 0;
  progress('');
  progress(
    `kai / graphile-worker: ${ratio(rateOf('kai'), rateOf('graphile-worker'))} (goal >= 1.0x)`,
  );
  progress(`kai / pg-boss:         ${ratio(rateOf('kai'), rateOf('pg-boss'))} (goal >= 3x)`);
  // Where each system's time goes: a queue bound by its SQL spends it on the server.
  for (const r of results) progress(`${r.system} CPU a job: ${cpuPerJob(r.cpu, r.handled)}`);

  const line = {
    bench: 'queue',
    jobs: settings.jobs,
    results: results.map((r) => ({
      system: r.system,
      jobsPerSec: round(r.jobsPerSec),
      p50LatencyMs: round(r.p50LatencyMs),
      p99LatencyMs: round(r.p99LatencyMs),
    })),
    lost: results.reduce((sum, r) => sum + r.lost, 0),
    duplicated: results.reduce((sum, r) => sum + r.duplicated, 0),
  };
  if (values.json) process.stdout.write(`${JSON.stringify(line)}\n`);
  else {
    for (const r of line.results) {
      process.stdout.write(
        `${r.system.padEnd(16)} ${String(r.jobsPerSec).padStart(8)} jobs/s  ` +
          `p50 ${r.p50LatencyMs} ms  p99 ${r.p99LatencyMs} ms\n`,
      );
    }
    process.stdout.write(`lost ${line.lost}, duplicated ${line.duplicated}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`The queue benchmark failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
