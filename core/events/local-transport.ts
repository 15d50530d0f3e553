import { Buffer } from 'node:buffer';
import type { Database, Queryable } from '../db/database.ts';
import type { Logger } from '../logging/logger.ts';
import {
  type DeliveryTransport,
  MAX_TRANSPORT_RETRIES,
  type RetrySchedule,
  retryAfterMs,
  retryDelayMs,
  type TransportMessage,
} from './delivery-transport.ts';
import { signLikeQstash } from './qstash-signature.ts';
import { MAX_RETRY_AFTER_MS } from './send-result.ts';

/** Finished messages are kept this long (their deliveries keep the record), then deleted. */
const FINISHED_RETENTION_MS = 24 * 60 * 60 * 1000;
const HOUSEKEEPING_INTERVAL_MS = 10 * 60 * 1000;

/** The channel on which new local transport messages are announced. */
export const TRANSPORT_CHANNEL = 'kai_transport';

/** Sends a request to one of Kai's own endpoints, in process (an app's `fetch`). */
export type Dispatch = (request: Request) => Promise<Response>;

export interface LocalTransportOptions {
  db: Database;
  logger: Logger;
  /** The key QStash-format signatures are made with; the delivery endpoint's Receiver knows it. */
  signingKey: string;
  /** Where delivery messages go: Kai's delivery endpoint. */
  deliveryUrl: string;
  /** Where callbacks go: `<callbackUrl>/success` and `<callbackUrl>/failure`. */
  callbackUrl: string;
  dispatch: Dispatch;
  schedule: RetrySchedule;
  /** Messages in flight at once. */
  concurrency: number;
  /** Messages in flight at once per flow-control key (per endpoint). */
  flowParallelism: number;
  /** Fallback wake-up when a notification is missed. */
  pollIntervalMs: number;
  /** A claimed message whose process died is tried again after this. */
  leaseMs?: number;
}

/** The embedded transport: QStash's contract on Kai's own Postgres queue. */
export interface LocalTransport extends DeliveryTransport {
  /** Starts claiming; stops when `signal` fires. */
  start(signal: AbortSignal): Promise<void>;
  /** Resolves once the messages in flight have finished. */
  drain(): Promise<void>;
}

interface MessageRow {
  id: string;
  destination: string;
  body: string;
  flow_control_key: string | null;
  callback: string | null;
  failure_callback: string | null;
  retries: number;
  retried: number;
}

// Claims due messages, at most `room` more per flow-control key: keys with messages in flight
// here have what is left of their parallelism ($2, $4), the others the whole of it ($5).
const CLAIM = `
  with due as (
    select id, flow_control_key, not_before from kai.transport_messages
    where not_before <= now()
      and (status = 'queued' or (status = 'active' and claim_expires_at < now()))
    order by not_before
    limit $1 * 4
  ), ranked as (
    select id, flow_control_key,
      row_number() over (partition by flow_control_key order by not_before, id) as rank
    from due
  ), allowed as (
    select ranked.id from ranked
    left join unnest($2::text[], $4::int[]) as busy(key, room) on busy.key = ranked.flow_control_key
    where ranked.flow_control_key is null or ranked.rank <= coalesce(busy.room, $5)
  )
  update kai.transport_messages m set status = 'active',
    claim_expires_at = now() + $3 * interval '1 millisecond'
  where m.id in (
    select id from kai.transport_messages
    where id in (select id from allowed)
      and (status = 'queued' or (status = 'active' and claim_expires_at < now()))
    order by not_before
    limit $1
    for update skip locked
  )
  returning m.id, m.destination, m.body, m.flow_control_key, m.callback, m.failure_callback,
    m.retries, m.retried`;

/**
 * Creates the local transport. Each message is sent to its destination in process, signed
 * like QStash signs (a JWT under the signing key, so the delivery endpoint verifies it with the
 * same Receiver), with `Upstash-Retried`; a non-2xx answer is retried on the schedule (later
 * when the answer carries a longer `Retry-After`) up to the message's retries, then the failure
 * callback is called in QStash's callback format. Deduplication ids drop second publishes.
 */
export function createLocalTransport(options: LocalTransportOptions): LocalTransport {
  const { db, logger } = options;
  const leaseMs = options.leaseMs ?? 60_000;
  const inFlight = new Map<string, Promise<void>>();
  const perKey = new Map<string, number>();
  let stopped = true;
  let claiming = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let lastHousekeepingMs = 0;

  const post = async (url: string, body: string, headers: Record<string, string> = {}) => {
    const signature = await signLikeQstash(options.signingKey, url, body);
    return await options.dispatch(
      new Request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'upstash-signature': signature, ...headers },
        body,
      }),
    );
  };

  const callback = async (
    url: string,
    row: MessageRow,
    response: Response | null,
    retried: number,
  ) => {
    const text = response ? await response.clone().text() : '';
    const body = JSON.stringify({
      status: response?.status ?? 0,
      header: response ? Object.fromEntries(response.headers) : {},
      body: Buffer.from(text).toString('base64'),
      retried,
      maxRetries: row.retries,
      sourceMessageId: row.id,
      url: row.destination,
      method: 'POST',
      sourceBody: Buffer.from(row.body).toString('base64'),
    });
    try {
      await post(url, body);
    } catch (error) {
      logger.error({ err: error, messageId: row.id }, 'the callback failed');
    }
  };

  const runOne = async (row: MessageRow) => {
    let response: Response | null = null;
    try {
      response = await post(row.destination, row.body, {
        'upstash-message-id': row.id,
        'upstash-retried': String(row.retried),
      });
    } catch (error) {
      logger.error({ err: error, messageId: row.id }, 'the destination threw');
    }

    if (response?.ok) {
      await db.query(
        `update kai.transport_messages set status = 'done', finished_at = now(),
           last_status = $2, claim_expires_at = null where id = $1`,
        [row.id, response.status],
      );
      if (row.callback) await callback(row.callback, row, response, row.retried);
      return;
    }

    const status = response?.status ?? 0;
    if (row.retried < row.retries) {
      const scheduled = retryDelayMs(options.schedule, row.retried);
      const asked = retryAfterMs(
        response?.headers.get('retry-after') ?? null,
        Date.now(),
        MAX_RETRY_AFTER_MS,
      );
      await db.query(
        `update kai.transport_messages set status = 'queued', retried = retried + 1,
           last_status = $2, claim_expires_at = null,
           not_before = now() + $3 * interval '1 millisecond'
         where id = $1`,
        [row.id, status, Math.max(scheduled, asked ?? 0)],
      );
      return;
    }

    await db.query(
      `update kai.transport_messages set status = 'failed', finished_at = now(),
         last_status = $2, claim_expires_at = null where id = $1`,
      [row.id, status],
    );
    if (row.failure_callback) await callback(row.failure_callback, row, response, row.retried);
  };

  const busyKeys = () => {
    const entries = [...perKey.entries()];
    return {
      keys: entries.map(([key]) => key),
      room: entries.map(([, n]) => Math.max(0, options.flowParallelism - n)),
    };
  };

  const track = (row: MessageRow) => {
    const key = row.flow_control_key;
    if (key) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    const done = runOne(row)
      .catch((error: unknown) => logger.error({ err: error, messageId: row.id }, 'message failed'))
      .finally(() => {
        inFlight.delete(row.id);
        if (key) {
          const left = (perKey.get(key) ?? 1) - 1;
          if (left <= 0) perKey.delete(key);
          else perKey.set(key, left);
        }
        wake();
      });
    inFlight.set(row.id, done);
  };

  const claimLoop = async () => {
    while (!stopped) {
      const free = options.concurrency - inFlight.size;
      if (free <= 0) return;
      // Limitation: flow control is per process; two Kai processes may each run
      // `flowParallelism` messages of one endpoint.
      const busy = busyKeys();
      const rows = await db.query<MessageRow>(CLAIM, [
        free,
        busy.keys,
        leaseMs,
        busy.room,
        options.flowParallelism,
      ]);
      if (rows.length === 0) break;
      for (const row of rows) track(row);
    }
    if (Date.now() - lastHousekeepingMs >= HOUSEKEEPING_INTERVAL_MS) {
      lastHousekeepingMs = Date.now();
      await db.query(
        `delete from kai.transport_messages where id in (
           select id from kai.transport_messages
           where status in ('done', 'failed')
             and finished_at < now() - $1 * interval '1 millisecond'
           limit 5000)`,
        [FINISHED_RETENTION_MS],
      );
    }
    await scheduleNextWake();
  };

  // Sleeps until the next message comes due, or the poll interval, whichever is first.
  const scheduleNextWake = async () => {
    if (stopped) return;
    const [next] = await db.query<{ ms: number | null }>(
      `select extract(epoch from (min(not_before) - now())) * 1000 as ms
       from kai.transport_messages where status = 'queued'`,
    );
    const dueInMs = next?.ms === null || next?.ms === undefined ? Infinity : Number(next.ms);
    // Something due but not claimed waits for a slot: a message finishing wakes the loop.
    const waitMs =
      dueInMs <= 0
        ? options.pollIntervalMs
        : Math.max(5, Math.min(options.pollIntervalMs, dueInMs));
    if (timer) clearTimeout(timer);
    timer = setTimeout(wake, waitMs);
    timer.unref?.();
  };

  function wake(): void {
    if (stopped) return;
    if (claiming) {
      again = true;
      return;
    }
    claiming = true;
    again = false;
    claimLoop()
      .catch((error: unknown) => logger.error({ err: error }, 'local transport claim failed'))
      .finally(() => {
        claiming = false;
        if (again) wake();
      });
  }

  return {
    name: 'local',
    transactional: true,

    async publish(messages: readonly TransportMessage[], tx?: Queryable) {
      if (messages.length === 0) return;
      await (tx ?? db).query(
        `insert into kai.transport_messages (
           destination, body, deduplication_id, flow_control_key, callback, failure_callback,
           retries, not_before
         )
         select $2, m.body, m.dedup, m.flow, $3, $4, m.retries,
                now() + m.delay_ms * interval '1 millisecond'
         from jsonb_to_recordset($1::jsonb) as m(body text, dedup text, flow text, retries int,
           delay_ms bigint)
         on conflict (deduplication_id) do nothing`,
        [
          messages.map((m) => ({
            body: JSON.stringify(m.message),
            dedup: m.deduplicationId,
            flow: m.flowControlKey,
            retries: Math.min(MAX_TRANSPORT_RETRIES, Math.max(0, m.retries)),
            delay_ms: Math.max(0, Math.round(m.delayMs ?? 0)),
          })),
          options.deliveryUrl,
          `${options.callbackUrl}/success`,
          `${options.callbackUrl}/failure`,
        ],
      );
    },

    async start(signal) {
      stopped = false;
      unlisten = await db.listen(TRANSPORT_CHANNEL, () => wake());
      signal.addEventListener('abort', () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        void unlisten?.();
      });
      wake();
    },

    async drain() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await unlisten?.();
      unlisten = undefined;
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
