import type { Queryable } from '../db/database.ts';
import { EVENT_TYPE_PATTERN, EVENT_TYPES } from './event-types.ts';

/** A domain event as a change records it. */
export interface NewEvent {
  type: string;
  /** The user the event concerns; null for system events, which reach no one's webhooks. */
  ownerId: string | null;
  /** What it is about, such as a job's or a study's id. */
  subject?: string | null;
  data: Record<string, unknown>;
  /** Defaults to the event type's own flag. */
  critical?: boolean;
}

/** An event as the outbox holds it. */
export interface DomainEvent {
  id: string;
  type: string;
  ownerId: string | null;
  subject: string | null;
  data: Record<string, unknown>;
  critical: boolean;
  occurredAt: Date;
}

/** A row of `kai.events`. */
export interface EventRow {
  id: string;
  type: string;
  owner_id: string | null;
  subject: string | null;
  data: Record<string, unknown>;
  critical: boolean;
  occurred_at: Date | string;
}

/** Maps an outbox row to a `DomainEvent`. */
export function eventFromRow(row: EventRow): DomainEvent {
  return {
    id: row.id,
    type: row.type,
    ownerId: row.owner_id,
    subject: row.subject,
    data: row.data,
    critical: row.critical,
    occurredAt: new Date(row.occurred_at),
  };
}

/**
 * Writes a domain event to the outbox in the caller's transaction: it exists exactly when the
 * change that caused it commits, and the relays wake at that commit. Works in a transaction
 * running as the API caller (`asCaller`) as well. Returns the event.
 */
export async function recordEvent(tx: Queryable, event: NewEvent): Promise<DomainEvent> {
  if (!EVENT_TYPE_PATTERN.test(event.type)) {
    throw new Error(
      `${JSON.stringify(event.type)} is not an event type name (such as job.completed).`,
    );
  }
  const critical = event.critical ?? EVENT_TYPES.get(event.type)?.critical ?? false;

  // A change made as the caller (`asCaller`: role `authenticated`, which may not write the
  // outbox) records its event as the session's own role, in the same transaction, and the
  // caller's role is back for what follows.
  const [{ role } = { role: 'none' }] = await tx.query<{ role: string }>(
    `select current_setting('role') as role`,
  );
  if (role !== 'none') await tx.query(`select set_config('role', 'none', true)`);
  try {
    const [row] = await tx.query<EventRow>(
      `insert into kai.events (type, owner_id, subject, data, critical)
       values ($1, $2, $3, $4::jsonb, $5)
       returning id, type, owner_id, subject, data, critical, occurred_at`,
      [event.type, event.ownerId, event.subject ?? null, event.data, critical],
    );
    if (!row) throw new Error('The outbox insert returned no row.');
    return eventFromRow(row);
  } finally {
    if (role !== 'none') await tx.query(`select set_config('role', $1, true)`, [role]);
  }
}
