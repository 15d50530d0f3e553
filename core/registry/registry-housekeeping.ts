import type { Database } from '../db/database.ts';
import { sweepStaleTrials } from '../studies/sweep-stale-trials.ts';
import { pruneParameterHistory } from './prune-parameter-history.ts';
import type { RegistrySettings } from './registry-settings.ts';

/** What one housekeeping pass did. */
export interface RegistryHousekeepingResult {
  deletedVersions: number;
  failedTrials: number;
}

/**
 * One pass of the registry's upkeep, for a periodic housekeeping loop (the pool's): parameter
 * history past `retentionDays` pruned (active and best versions kept), and running trials of
 * every study that missed their heartbeats failed. Does nothing to the history when the
 * registry is off.
 */
export async function registryHousekeeping(
  db: Database,
  settings: Pick<RegistrySettings, 'enabled' | 'retentionDays'>,
): Promise<RegistryHousekeepingResult> {
  const deletedVersions = settings.enabled
    ? (await pruneParameterHistory(db, { retentionDays: settings.retentionDays })).deletedVersions
    : 0;
  const failedTrials = await sweepStaleTrials(db);
  return { deletedVersions, failedTrials };
}
