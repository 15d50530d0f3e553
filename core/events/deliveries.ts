import type { Queryable } from '../db/database.ts';

/** Where a delivery goes. In-app notifications are written at fan-out and need none. */
export type DeliveryChannel = 'webhook' | 'email' | 'sms' | 'push';

/** A delivery's lifecycle, as the deliveries table's check constraint lists it. */
export type DeliveryStatus =
  | 'pending'
  | 'delivering'
  | 'retrying'
  | 'delivered'
  | 'dead'
  | 'cancelled';

/** One event to one destination. */
export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  channel: DeliveryChannel;
  ownerId: string | null;
  endpointId: string | null;
  recipient: string | null;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  maxAttempts: number;
  deliverAfter: Date | null;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  replays: number;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | null;
  deadAt: Date | null;
}

/** A row of `public.deliveries`. */
export interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  channel: DeliveryChannel;
  owner_id: string | null;
  endpoint_id: string | null;
  recipient: string | null;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  max_attempts: number;
  deliver_after: Date | string | null;
  next_attempt_at: Date | string | null;
  last_status_code: number | null;
  last_error: string | null;
  replays: number;
  created_at: Date | string;
  updated_at: Date | string;
  delivered_at: Date | string | null;
  dead_at: Date | string | null;
}

const date = (value: Date | string | null) => (value === null ? null : new Date(value));

/** Maps a deliveries row to a `Delivery`. */
export function deliveryFromRow(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    channel: row.channel,
    ownerId: row.owner_id,
    endpointId: row.endpoint_id,
    recipient: row.recipient,
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    deliverAfter: date(row.deliver_after),
    nextAttemptAt: date(row.next_attempt_at),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    replays: row.replays,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    deliveredAt: date(row.delivered_at),
    deadAt: date(row.dead_at),
  };
}

/** A delivery to create at fan-out. */
export interface NewDelivery {
  eventId: string;
  eventType: string;
  channel: DeliveryChannel;
  ownerId: string | null;
  endpointId?: string | null;
  recipient?: string | null;
  payload: Record<string, unknown>;
  maxAttempts: number;
  deliverAfter?: Date | null;
}

/**
 * Inserts deliveries in one statement; one that exists already for the same event and
 * destination is skipped, so relaying an event twice delivers it once. Returns those created.
 */
export async function insertDeliveries(
  tx: Queryable,
  deliveries: readonly NewDelivery[],
): Promise<Delivery[]> {
  if (deliveries.length === 0) return [];
  const rows = await tx.query<DeliveryRow>(
    `insert into public.deliveries (
       event_id, event_type, channel, owner_id, endpoint_id, recipient, payload, max_attempts,
       deliver_after
     )
     select d.event_id, d.event_type, d.channel, d.owner_id, d.endpoint_id, d.recipient,
            d.payload, d.max_attempts, d.deliver_after
     from jsonb_to_recordset($1::jsonb) as d(
       event_id uuid, event_type text, channel text, owner_id uuid, endpoint_id uuid,
       recipient text, payload jsonb, max_attempts int, deliver_after timestamptz
     )
     on conflict (event_id, channel, endpoint_id, recipient) do nothing
     returning *`,
    [
      deliveries.map((d) => ({
        event_id: d.eventId,
        event_type: d.eventType,
        channel: d.channel,
        owner_id: d.ownerId,
        endpoint_id: d.endpointId ?? null,
        recipient: d.recipient ?? null,
        payload: d.payload,
        max_attempts: d.maxAttempts,
        deliver_after: d.deliverAfter?.toISOString() ?? null,
      })),
    ],
  );
  return rows.map(deliveryFromRow);
}

/** One attempt of a delivery, as recorded. */
export interface AttemptRecord {
  deliveryId: string;
  ownerId: string | null;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  ok: boolean;
  error: string | null;
  responseExcerpt: string | null;
}

/** The most of a response body an attempt keeps. */
export const RESPONSE_EXCERPT_CHARS = 1024;

/** Cuts text to `max` characters, for columns with a length check. */
export function excerpt(text: string | null | undefined, max = RESPONSE_EXCERPT_CHARS) {
  if (text === null || text === undefined) return null;
  return text.length > max ? text.slice(0, max) : text;
}

/** Records one attempt. */
export async function recordAttempt(tx: Queryable, attempt: AttemptRecord): Promise<void> {
  await tx.query(
    `insert into public.delivery_attempts (
       delivery_id, owner_id, attempt, started_at, duration_ms, status_code, ok, error,
       response_excerpt
     ) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      attempt.deliveryId,
      attempt.ownerId,
      attempt.attempt,
      attempt.startedAt.toISOString(),
      Math.max(0, Math.round(attempt.durationMs)),
      attempt.statusCode,
      attempt.ok,
      excerpt(attempt.error, 2000),
      excerpt(attempt.responseExcerpt),
    ],
  );
}

/** Reads one delivery; undefined when there is none. */
export async function findDelivery(db: Queryable, id: string): Promise<Delivery | undefined> {
  const [row] = await db.query<DeliveryRow>('select * from public.deliveries where id = $1', [id]);
  return row ? deliveryFromRow(row) : undefined;
}
