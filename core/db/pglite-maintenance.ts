import type { Queryable } from './database.ts';

/**
 * When autovacuum finds a table due, with Postgres 15's defaults: VACUUM once its dead rows
 * pass `vacuumThreshold + vacuumScaleFactor * rows`, or its rows inserted since the last one
 * pass `vacuumInsertThreshold + vacuumInsertScaleFactor * rows`; ANALYZE once its rows changed
 * since the last one pass `analyzeThreshold + analyzeScaleFactor * rows`.
 */
export const AUTOVACUUM_THRESHOLDS = {
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  vacuumInsertThreshold: 1000,
  vacuumInsertScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
} as const;

/** How often the embedded database looks for tables due, as Postgres's autovacuum_naptime. */
export const MAINTENANCE_INTERVAL_MS = 60_000;

/** What one round did, by schema-qualified table name. */
export interface MaintenanceRound {
  vacuumed: string[];
  analyzed: string[];
  /** Tables whose statement failed (dropped meanwhile, say); the next round tries again. */
  failed: { table: string; error: Error }[];
}

// The counts of this session's last statements reach the statistics only when flushed.
const FLUSH_STATISTICS = 'select pg_catalog.pg_stat_force_next_flush()';

// Tables due, by autovacuum's rule, leaving out those whose autovacuum_enabled is off. A
// table never vacuumed has reltuples -1, which autovacuum counts as none.
const DUE_TABLES = `
  select pg_catalog.format('%I.%I', s.schemaname, s.relname) as "table",
         s.n_dead_tup > $1 + $2 * t.rows or s.n_ins_since_vacuum > $3 + $4 * t.rows as vacuum,
         s.n_mod_since_analyze > $5 + $6 * t.rows as analyze
  from pg_catalog.pg_stat_user_tables s
  join pg_catalog.pg_class c on c.oid = s.relid
  cross join lateral (select greatest(c.reltuples, 0) as rows) t
  where c.relkind = 'r'
    and coalesce((
      select o.option_value::boolean from pg_catalog.pg_options_to_table(c.reloptions) o
      where o.option_name = 'autovacuum_enabled'
    ), true)
    and (s.n_dead_tup > $1 + $2 * t.rows or s.n_ins_since_vacuum > $3 + $4 * t.rows
         or s.n_mod_since_analyze > $5 + $6 * t.rows)
  order by 1`;

/**
 * One round of what autovacuum does on a server, for PGlite, which has no autovacuum: VACUUM
 * and ANALYZE the user tables due by `AUTOVACUUM_THRESHOLDS`. Without it an embedded
 * database never learns that a table grew: the job reader's statement, planned while the jobs
 * table held one job, kept reading through the owner's index, walking all of the owner's jobs
 * to find one (about 450 us at 10,000 jobs, against 110 us after ANALYZE), and updated rows
 * were never reclaimed. ANALYZE makes Postgres plan such statements again. `db` must be
 * outside any transaction (VACUUM cannot run in one).
 *
 * Limitation: it runs on the database's one connection, so other statements wait for it
 * (an ANALYZE of 10,000 jobs took about 30 ms); and it leaves out the system catalogs, which
 * Kai's statements seldom change once migrated.
 */
export async function maintainTables(db: Queryable): Promise<MaintenanceRound> {
  const t = AUTOVACUUM_THRESHOLDS;
  await db.query(FLUSH_STATISTICS);
  const due = await db.query<{ table: string; vacuum: boolean; analyze: boolean }>(DUE_TABLES, [
    t.vacuumThreshold,
    t.vacuumScaleFactor,
    t.vacuumInsertThreshold,
    t.vacuumInsertScaleFactor,
    t.analyzeThreshold,
    t.analyzeScaleFactor,
  ]);

  const round: MaintenanceRound = { vacuumed: [], analyzed: [], failed: [] };
  for (const { table, vacuum, analyze } of due) {
    const statement = vacuum ? (analyze ? 'vacuum (analyze)' : 'vacuum') : 'analyze';
    try {
      await db.exec(`${statement} ${table}`);
    } catch (error) {
      round.failed.push({ table, error: error as Error });
      continue;
    }
    if (vacuum) round.vacuumed.push(table);
    if (analyze) round.analyzed.push(table);
  }
  return round;
}
