/**
 * Writes one line of human-readable progress on stderr, so that stdout keeps only the results
 * and, with `--json`, ends with the one JSON line the benchmark promises.
 */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Rounds a rate or a duration for the results: whole numbers above 100, one decimal below. */
export function round(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
}

/** The value at quantile `q` (0-1) of `values` by nearest rank; 0 for no values. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/** A ratio for the log, as `1.23x`; `n/a` when the denominator is 0. */
export function ratio(numerator: number, denominator: number): string {
  return denominator === 0 ? 'n/a' : `${(numerator / denominator).toFixed(2)}x`;
}
