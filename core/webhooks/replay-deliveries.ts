import type { Database, Queryable } from '../db/database.ts';
import { NotFoundError } from '../errors.ts';
import { type Delivery, type DeliveryRow, deliveryFromRow } from '../events/deliveries.ts';
import type { DeliveryTransport } from '../events/delivery-transport.ts';
import { firstMessage } from '../events/outbox-relay.ts';

/** The deliveries a range replay takes: one endpoint's, created inside [since, until). */
export interface ReplayRange {
  endpointId: string;
  since: Date;
  until: Date;
  /** Only dead letters (the default), or every delivery that was not delivered. */
  only?: 'dead' | 'failed';
}

const REPLAY = `
  update public.deliveries set status = 'pending', replays = replays + 1, deliver_after = null,
    next_attempt_at = null, dead_at = null, last_error = null
  where id = any($1::uuid[]) and status in ('dead', 'delivered', 'cancelled', 'retrying')
  returning *`;

async function replayIds(
  tx: Queryable,
  transport: DeliveryTransport,
  ids: readonly string[],
): Promise<Delivery[]> {
  if (ids.length === 0) return [];
  const rows = await tx.query<DeliveryRow>(REPLAY, [ids]);
  const deliveries = rows.map(deliveryFromRow);
  if (transport.transactional) await transport.publish(deliveries.map(firstMessage), tx);
  return deliveries;
}

/**
 * Replays one delivery: it goes out again with a fresh retry budget, the same Standard Webhooks
 * message id (so receivers can deduplicate) and its earlier attempts kept. `visible` is the
 * caller's own transaction under RLS, which proves they may see it.
 */
export async function replayDelivery(
  db: Database,
  transport: DeliveryTransport,
  id: string,
): Promise<Delivery> {
  const [delivery] = await db.transaction((tx) => replayIds(tx, transport, [id]));
  if (!delivery) {
    throw new NotFoundError(`There is no replayable delivery ${id} (one in flight cannot be).`);
  }
  if (!transport.transactional) await transport.publish([firstMessage(delivery)]);
  return delivery;
}

/** Replays the dead (or every undelivered) delivery of an endpoint in a time range. */
export async function replayRange(
  db: Database,
  transport: DeliveryTransport,
  range: ReplayRange,
): Promise<Delivery[]> {
  const statuses = range.only === 'failed' ? ['dead', 'cancelled', 'retrying'] : ['dead'];
  const deliveries = await db.transaction(async (tx) => {
    const rows = await tx.query<{ id: string }>(
      `select id from public.deliveries
       where endpoint_id = $1 and created_at >= $2 and created_at < $3 and status = any($4)
       order by created_at limit 10000`,
      [range.endpointId, range.since.toISOString(), range.until.toISOString(), statuses],
    );
    return await replayIds(
      tx,
      transport,
      rows.map((r) => r.id),
    );
  });
  if (!transport.transactional && deliveries.length > 0) {
    await transport.publish(deliveries.map(firstMessage));
  }
  return deliveries;
}
