import type { Queryable } from '../db/database.ts';
import type { EndpointRow } from '../webhooks/webhook-endpoints.ts';
import type { DeliveryRow } from './deliveries.ts';
import type { DeliveryMessage } from './delivery-transport.ts';
import { StatementBatcher } from './statement-batcher.ts';

/** A claimed delivery, with its webhook endpoint (null for other channels or a deleted one). */
export type ClaimedRow = DeliveryRow & { endpoint: EndpointRow | null };

/** A successful attempt to record, and its delivery to settle as delivered. */
export interface Delivered {
  id: string;
  owner_id: string | null;
  attempt: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  response_excerpt: string | null;
}

/** The claims and the successes of concurrent attempts, sent to the database together. */
export interface DeliveryStatements {
  /** Claims the message's delivery; undefined when it is not claimable now. */
  claim(message: DeliveryMessage): Promise<ClaimedRow | undefined>;
  /** Records a successful attempt and settles its delivery as delivered. */
  settleDelivered(delivered: Delivered): Promise<void>;
}

// The claims: each wanted delivery that is claimable now, its attempt counted. Both statements
// commit without waiting for the WAL flush (`synchronous_commit` off for their transaction
// only): a claim lost in a crash only means the delivery is attempted again, and a success lost
// in a crash leaves the delivery `delivering`, which the relay's sweep publishes again (a
// duplicate with the same webhook-id); at-least-once delivery allows both. Failures, retries and
// dead letters are written with a full commit.
// Limitation: a success lost that way also loses its attempt's row in the delivery log.
const claimCtes = (wanted: string, ids: string) => `
  wanted as (
    select * from jsonb_to_recordset(${wanted}::jsonb) as w(id uuid, replay int)
  ), claimed as (
    update public.deliveries d set status = 'delivering', attempts = d.attempts + 1,
      next_attempt_at = null
    from wanted w
    where d.id = any(${ids}::uuid[]) and d.id = w.id and d.replays = w.replay
      and d.status in ('pending', 'retrying', 'delivering')
      and (d.deliver_after is null or d.deliver_after <= now())
    returning d.*
  )`;

// The claimed rows, each webhook's endpoint beside it.
const CLAIMED_ROWS = `
  select c.*, to_jsonb(e.*) as endpoint
  from claimed c left join public.webhook_endpoints e on e.id = c.endpoint_id
  cross join (select set_config('synchronous_commit', 'off', true)) as async_commit`;

// The successes: the attempts recorded, the deliveries delivered, and (below) their endpoints'
// failure counts back to zero; one statement, so atomic without a transaction.
const settleCtes = (done: string, ids: string) => `
  done as (
    select * from jsonb_to_recordset(${done}::jsonb) as s(
      id uuid, owner_id uuid, attempt int, started_at timestamptz, duration_ms int,
      status_code int, response_excerpt text
    )
    where set_config('synchronous_commit', 'off', true) = 'off'
  ), attempts as (
    insert into public.delivery_attempts (
      delivery_id, owner_id, attempt, started_at, duration_ms, status_code, ok, error,
      response_excerpt
    )
    select id, owner_id, attempt, started_at, duration_ms, status_code, true, null,
      response_excerpt
    from done
  ), delivered as (
    update public.deliveries d set status = 'delivered', delivered_at = now(),
      last_status_code = done.status_code, last_error = null
    from done
    where d.id = any(${ids}::uuid[]) and d.id = done.id
    returning d.endpoint_id
  )`;

const RESET_FAILURES = `
  update public.webhook_endpoints set consecutive_failures = 0
  where id in (select endpoint_id from delivered) and consecutive_failures <> 0`;

const CLAIM = `with ${claimCtes('$1', '$2')} ${CLAIMED_ROWS}`;
const SETTLE = `with ${settleCtes('$1', '$2')} ${RESET_FAILURES}`;
// Claims and successes of different deliveries in one statement: one round trip and one commit
// for both. Every data-modifying CTE runs whether or not the final select reads it.
const CLAIM_AND_SETTLE = `
  with ${claimCtes('$1', '$2')}, ${settleCtes('$3', '$4')}, reset as (${RESET_FAILURES})
  ${CLAIMED_ROWS}`;

type Op = { claim: DeliveryMessage } | { settle: Delivered };
type OpResult = { row: ClaimedRow | undefined } | { error: unknown };

/**
 * Creates the statements: every claim and every success waiting goes in the next statement,
 * one statement in flight at a time, so batches grow with the load (measured with
 * bench:webhooks: two in flight made more, smaller statements and fewer deliveries).
 */
export function createDeliveryStatements(db: Queryable): DeliveryStatements {
  const claimRows = async (messages: DeliveryMessage[], settles: Delivered[]) => {
    const wanted = messages.map((m) => ({ id: m.deliveryId, replay: m.replay }));
    const ids = messages.map((m) => m.deliveryId);
    if (settles.length === 0) return await db.query<ClaimedRow>(CLAIM, [wanted, ids]);
    const settled = settles.map((s) => s.id);
    if (messages.length === 0) return await db.query<ClaimedRow>(SETTLE, [settles, settled]);
    return await db.query<ClaimedRow>(CLAIM_AND_SETTLE, [wanted, ids, settles, settled]);
  };

  // Two messages of one delivery in one batch: only the first may attempt it.
  const byMessage = (messages: DeliveryMessage[], rows: ClaimedRow[]) => {
    const byId = new Map(rows.map((r) => [r.id, r]));
    return messages.map((m) => {
      const row = byId.get(m.deliveryId);
      byId.delete(m.deliveryId);
      return row;
    });
  };

  const run = async (ops: Op[]): Promise<OpResult[]> => {
    const results: OpResult[] = ops.map(() => ({ row: undefined }));
    const settles = ops.flatMap((op) => ('settle' in op ? [op.settle] : []));
    const settling = new Set(settles.map((s) => s.id));
    const settleAt = ops.flatMap((op, i) => ('settle' in op ? [i] : []));
    // A claim of a delivery settled in this batch goes in a statement after it: one statement
    // must not update a row twice.
    const nowAt: number[] = [];
    const afterAt: number[] = [];
    ops.forEach((op, i) => {
      if ('claim' in op) (settling.has(op.claim.deliveryId) ? afterAt : nowAt).push(i);
    });
    const messagesAt = (at: number[]) =>
      at.map((i) => (ops[i] as { claim: DeliveryMessage }).claim);
    const fill = (at: number[], rows: ClaimedRow[]) => {
      byMessage(messagesAt(at), rows).forEach((row, k) => {
        results[at[k] as number] = { row };
      });
    };
    const fail = (at: number[], error: unknown) => {
      for (const i of at) results[i] = { error };
    };

    try {
      fill(nowAt, await claimRows(messagesAt(nowAt), settles));
    } catch (error) {
      if (nowAt.length === 0 || settles.length === 0) {
        fail([...nowAt, ...settleAt], error);
      } else {
        // A failed statement fails neither kind for the other: each is tried again alone.
        const [claims, successes] = await Promise.allSettled([
          claimRows(messagesAt(nowAt), []),
          claimRows([], settles),
        ]);
        if (claims.status === 'fulfilled') fill(nowAt, claims.value);
        else fail(nowAt, claims.reason);
        if (successes.status === 'rejected') fail(settleAt, successes.reason);
      }
    }
    if (afterAt.length > 0) {
      try {
        fill(afterAt, await claimRows(messagesAt(afterAt), []));
      } catch (error) {
        fail(afterAt, error);
      }
    }
    return results;
  };

  // When the batcher is idle, a call waits for the end of the event loop's turn, so the calls
  // of one turn (many answers read at once) share their statement.
  const batcher = new StatementBatcher<Op, OpResult>(run, { maxInFlight: 1, gatherTurn: true });

  const submit = async (op: Op) => {
    const result = await batcher.submit(op);
    if ('error' in result) throw result.error;
    return result.row;
  };

  return {
    claim: (message) => submit({ claim: message }),
    async settleDelivered(delivered) {
      await submit({ settle: delivered });
    },
  };
}
