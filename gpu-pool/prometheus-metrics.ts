import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queryable } from '../core/db/database.ts';
import type { PoolMetrics } from './pool-metrics.ts';

/** The pool's Prometheus registry and the `PoolMetrics` that feed it. */
export interface PrometheusPoolMetrics {
  registry: Registry;
  metrics: PoolMetrics;
}

/**
 * Creates the pool's metrics: claims, batch sizes, run durations, settled jobs by outcome,
 * lease losses, and the queue depth per class, read from the database at each scrape (the same
 * number KEDA scales on).
 */
export function createPrometheusMetrics(db: Queryable): PrometheusPoolMetrics {
  const registry = new Registry();

  const claims = new Counter({
    name: 'kai_pool_claimed_jobs_total',
    help: 'Jobs claimed by this pool, by queue class.',
    labelNames: ['queue'],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'kai_pool_batch_size',
    help: 'Jobs per batch run, by model.',
    labelNames: ['model'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'kai_pool_batch_duration_seconds',
    help: 'Time to run one batch through its handler, by model.',
    labelNames: ['model'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const settled = new Counter({
    name: 'kai_pool_jobs_settled_total',
    help: 'Jobs settled by this pool, by type and outcome (completed, failed, cancelled).',
    labelNames: ['type', 'outcome'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'kai_pool_job_failures_total',
    help: 'Failed attempts, by job type.',
    labelNames: ['type'],
    registers: [registry],
  });
  const leaseLosses = new Counter({
    name: 'kai_pool_lease_losses_total',
    help: 'Jobs whose lease this pool lost before settling them.',
    registers: [registry],
  });
  new Gauge({
    name: 'kai_queue_depth',
    help: 'Ready and running jobs per queue class (kai.queue_depth).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const rows = await db.query<{ name: string; depth: number }>(
        'select name, kai.queue_depth(name)::int as depth from kai.queue_classes',
      );
      this.reset();
      for (const row of rows) this.set({ queue: row.name }, row.depth);
    },
  });

  return {
    registry,
    metrics: {
      claimed: (queue, count) => claims.inc({ queue }, count),
      batchRan: (model, size, durationMs) => {
        batchSize.observe({ model }, size);
        batchSeconds.observe({ model }, durationMs / 1000);
      },
      jobSettled: (type, outcome) => {
        settled.inc({ type, outcome });
        if (outcome === 'failed') failures.inc({ type });
      },
      leaseLost: () => leaseLosses.inc(),
    },
  };
}
