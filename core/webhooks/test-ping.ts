import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import { type Delivery, insertDeliveries } from '../events/deliveries.ts';
import type { DeliveryTransport } from '../events/delivery-transport.ts';
import { webhookPayload } from '../events/fan-out.ts';
import { firstMessage } from '../events/outbox-relay.ts';
import type { SigningEndpoint } from './webhook-endpoints.ts';

/**
 * Sends a `webhook.test` message to one endpoint, whatever its event filter, as a delivery
 * like any other (signed, retried, recorded). The event is written already relayed, so no
 * other endpoint receives it.
 */
export async function sendTestPing(
  db: Database,
  transport: DeliveryTransport,
  endpoint: SigningEndpoint,
  maxAttempts: number,
): Promise<Delivery> {
  const eventId = randomUUID();
  const occurredAt = new Date();
  const data = { endpointId: endpoint.id, message: 'A test ping from Kai.' };

  const delivery = await db.transaction(async (tx) => {
    await tx.query(
      `insert into kai.events (id, type, owner_id, subject, data, occurred_at, relayed_at)
       values ($1, 'webhook.test', $2, $3, $4::jsonb, $5, now())`,
      [eventId, endpoint.ownerId, endpoint.id, data, occurredAt.toISOString()],
    );
    const [created] = await insertDeliveries(tx, [
      {
        eventId,
        eventType: 'webhook.test',
        channel: 'webhook',
        ownerId: endpoint.ownerId,
        endpointId: endpoint.id,
        payload: webhookPayload({
          id: eventId,
          type: 'webhook.test',
          ownerId: endpoint.ownerId,
          subject: endpoint.id,
          data,
          critical: false,
          occurredAt,
        }),
        maxAttempts,
      },
    ]);
    if (!created) throw new Error('The test ping delivery was not created.');
    if (transport.transactional) await transport.publish([firstMessage(created)], tx);
    return created;
  });
  if (!transport.transactional) await transport.publish([firstMessage(delivery)]);
  return delivery;
}
