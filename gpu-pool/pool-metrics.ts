/** What the pool reports as it works; `gpu-pool/prometheus-metrics.ts` exports it. */
export interface PoolMetrics {
  claimed(queue: string, count: number): void;
  batchRan(model: string, size: number, durationMs: number): void;
  jobSettled(type: string, outcome: 'completed' | 'failed' | 'cancelled', durationMs: number): void;
  leaseLost(): void;
}

/** Metrics that go nowhere, for tests and tools that do not scrape. */
export const NO_METRICS: PoolMetrics = {
  claimed: () => {},
  batchRan: () => {},
  jobSettled: () => {},
  leaseLost: () => {},
};
