import type { Queryable } from '../db/database.ts';
import { NotFoundError } from '../errors.ts';

/** An inbox entry's state: unseen until listed as seen, then read, or archived. */
export type InboxStatus = 'unseen' | 'seen' | 'read' | 'archived';

/** One in-app notification. */
export interface InboxNotification {
  id: string;
  eventId: string | null;
  eventType: string;
  title: string;
  body: string;
  data: unknown;
  status: InboxStatus;
  critical: boolean;
  createdAt: string;
  seenAt: string | null;
  readAt: string | null;
  archivedAt: string | null;
}

interface Row {
  id: string;
  event_id: string | null;
  event_type: string;
  title: string;
  body: string;
  data: unknown;
  status: InboxStatus;
  critical: boolean;
  created_at: Date | string;
  seen_at: Date | string | null;
  read_at: Date | string | null;
  archived_at: Date | string | null;
}

const iso = (value: Date | string | null) =>
  value === null ? null : new Date(value).toISOString();

function fromRow(row: Row): InboxNotification {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    title: row.title,
    body: row.body,
    data: row.data,
    status: row.status,
    critical: row.critical,
    createdAt: new Date(row.created_at).toISOString(),
    seenAt: iso(row.seen_at),
    readAt: iso(row.read_at),
    archivedAt: iso(row.archived_at),
  };
}

/** What a listing asks for. Without `status`, archived entries are left out. */
export interface InboxQuery {
  status?: InboxStatus | undefined;
  limit: number;
  /** Entries created before this one (cursor: the last id of the previous page). */
  before?: string | undefined;
  /** Marks the unseen entries returned as seen. */
  markSeen?: boolean | undefined;
}

/**
 * Lists the caller's notifications, newest first, with the count of unseen ones. Run as the
 * caller: RLS keeps it to their own inbox.
 */
export async function listInbox(
  tx: Queryable,
  query: InboxQuery,
): Promise<{ items: InboxNotification[]; unseenCount: number; nextCursor: string | null }> {
  const rows = await tx.query<Row>(
    `select n.* from public.notifications n
     where ($1::text is null and n.status <> 'archived' or n.status = $1)
       and ($2::uuid is null or (n.created_at, n.id) < (
         select created_at, id from public.notifications where id = $2))
     order by n.created_at desc, n.id desc
     limit $3`,
    [query.status ?? null, query.before ?? null, query.limit + 1],
  );
  const page = rows.slice(0, query.limit);

  if (query.markSeen) {
    const unseen = page.filter((r) => r.status === 'unseen').map((r) => r.id);
    if (unseen.length > 0) {
      await tx.query(
        `update public.notifications set status = 'seen', seen_at = now()
         where id = any($1::uuid[]) and status = 'unseen'`,
        [unseen],
      );
    }
  }

  const [count] = await tx.query<{ n: number }>(
    `select count(*)::int as n from public.notifications where status = 'unseen'`,
  );
  return {
    items: page.map(fromRow),
    unseenCount: count?.n ?? 0,
    nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** Marks one notification read (or archived); `NotFoundError` when the caller has none such. */
export async function setInboxStatus(
  tx: Queryable,
  id: string,
  status: 'read' | 'archived',
): Promise<InboxNotification> {
  const [row] = await tx.query<Row>(
    `update public.notifications set
       status = $2,
       seen_at = coalesce(seen_at, now()),
       read_at = case when $2 = 'read' then coalesce(read_at, now()) else read_at end,
       archived_at = case when $2 = 'archived' then now() else archived_at end
     where id = $1
     returning *`,
    [id, status],
  );
  if (!row) throw new NotFoundError(`There is no notification ${id}.`);
  return fromRow(row);
}

/** Marks every unseen or seen notification of the caller read; returns how many. */
export async function markAllRead(tx: Queryable): Promise<number> {
  const rows = await tx.query(
    `update public.notifications set status = 'read', seen_at = coalesce(seen_at, now()),
       read_at = now()
     where status in ('unseen', 'seen')
     returning id`,
  );
  return rows.length;
}
