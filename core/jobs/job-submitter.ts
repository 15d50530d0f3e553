import type { Auth } from '../auth/caller.ts';
import { callerScope, claimsOf } from '../auth/user-scope.ts';
import type { Database, Statement } from '../db/database.ts';
import { StatementBatcher } from '../events/statement-batcher.ts';
import { type EnqueueResult, type JobSpec, planEnqueue } from '../queue/enqueue.ts';
import type { JobRow } from '../queue/job.ts';

/** Enqueues the API's submissions, each as its caller, many to a transaction under load. */
export interface JobSubmitter {
  /**
   * Enqueues `spec` as `auth` under RLS and resolves once it is committed, with the job (or
   * the job an idempotency key already named). Rejects with this submission's own error only:
   * another submission of the same batch failing does not fail this one.
   */
  enqueue(auth: Auth, spec: JobSpec): Promise<EnqueueResult>;
}

export interface JobSubmitterOptions {
  /** Transactions out at once; the submissions that arrive meanwhile share the next one. */
  maxInFlight?: number | undefined;
  /** The most submissions in one transaction. */
  maxBatch?: number | undefined;
}

interface Pending {
  claims: string;
  spec: JobSpec;
}

type Outcome = EnqueueResult | { error: unknown };

/**
 * The API's way into the queue. The submissions of one turn of the event loop (the requests
 * read in one poll) go together, and those that arrive while `maxInFlight` transactions are
 * out wait and go in the next one: each caller's rows in one insert after that caller's claims
 * are set, so RLS checks every row as its own caller, and one commit for all. The statements of
 * a transaction go as one `Database.batch`, one round trip on the server driver. That is what
 * makes a burst of submissions cost a few round trips and commits instead of three round trips
 * each. Gathering per turn matters most on PGlite, whose work runs on this thread: a lone
 * transaction there ends before the next request is read, so without it nothing would share.
 *
 * When the database refuses a batch (one submission's value it cannot store, say), nothing of
 * it was committed, and each submission goes again in a transaction of its own, so only the one
 * at fault fails. A batch lost with its connection fails whole, as a lone submission would.
 */
export function createJobSubmitter(db: Database, options: JobSubmitterOptions = {}): JobSubmitter {
  const batcher = new StatementBatcher<Pending, Outcome>(
    async (items) => {
      try {
        return await enqueueAsCallers(db, items);
      } catch (error) {
        if (items.length === 1 || !refusedByServer(error)) throw error;
        return await Promise.all(
          items.map((item) =>
            enqueueAsCallers(db, [item]).then(
              ([outcome]) => outcome as Outcome,
              (alone: unknown) => ({ error: alone }),
            ),
          ),
        );
      }
    },
    {
      maxInFlight: options.maxInFlight ?? 2,
      maxBatch: options.maxBatch ?? 100,
      gatherTurn: true,
      // Two transactions of half the submissions each, so that the callers of the first are
      // answered while the second commits: 30-40% more submissions a second on PGlite's
      // thread in bench:api.
      spread: true,
    },
  );

  return {
    async enqueue(auth, spec) {
      const outcome = await batcher.submit({ claims: claimsOf(auth), spec });
      if ('error' in outcome) throw outcome.error;
      return outcome;
    },
  };
}

/**
 * One transaction for `items`: per caller, the claims, then one insert of that caller's rows
 * (and the read of the jobs their idempotency keys name). Outcomes in the order of `items`.
 */
async function enqueueAsCallers(db: Database, items: readonly Pending[]): Promise<Outcome[]> {
  const byCaller = new Map<string, number[]>();
  items.forEach((item, i) => {
    const indexes = byCaller.get(item.claims);
    if (indexes) indexes.push(i);
    else byCaller.set(item.claims, [i]);
  });

  const statements: Statement[] = [];
  const groups = [...byCaller].map(([claims, indexes]) => {
    const plan = planEnqueue(indexes.map((i) => (items[i] as Pending).spec));
    statements.push(callerScope(claims));
    const insertAt = statements.push(plan.insert) - 1;
    const findAt = plan.findKeyed ? statements.push(plan.findKeyed) - 1 : undefined;
    return { indexes, plan, insertAt, findAt };
  });

  const results = (await db.batch(statements)) as unknown as JobRow[][];
  const outcomes: Outcome[] = new Array(items.length);
  for (const { indexes, plan, insertAt, findAt } of groups) {
    const settled = plan.settle(
      results[insertAt] ?? [],
      findAt === undefined ? [] : (results[findAt] ?? []),
    );
    settled.forEach((result, k) => {
      outcomes[indexes[k] as number] = result instanceof Error ? { error: result } : result;
    });
  }
  return outcomes;
}

/**
 * The server answered with an SQLSTATE that ends the transaction without committing anything
 * (a value it cannot store, a constraint), as opposed to a connection lost, after which the
 * commit may or may not have happened and a second try could enqueue twice.
 */
function refusedByServer(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  // Connection exceptions (08), operator intervention (57: shutdown, cancel) and system
  // errors (58) leave the outcome unknown.
  return !/^(08|57|58)/.test(code);
}
