import type { Database } from '../db/database.ts';
import type { Logger } from '../logging/logger.ts';
import { type Delivery, type DeliveryRow, deliveryFromRow } from './deliveries.ts';
import {
  type DeliveryTransport,
  flowControlKeyOf,
  type TransportMessage,
} from './delivery-transport.ts';
import { type FanOutOptions, fanOutEvent } from './fan-out.ts';
import { type EventRow, eventFromRow } from './record-event.ts';

/** The channel on which the outbox announces new events. */
export const EVENTS_CHANNEL = 'kai_events';

/** An event that failed to relay this often is left for a person to look at. */
const MAX_RELAY_ATTEMPTS = 10;

export interface OutboxRelayOptions {
  db: Database;
  logger: Logger;
  transport: DeliveryTransport;
  fanOut: FanOutOptions;
  /** Events claimed at once. */
  batchSize?: number;
  /** Fallback wake-up when a notification is missed. */
  pollIntervalMs: number;
  /** A claimed event whose relay died is claimed again after this. */
  claimMs?: number;
  /** Deliveries still pending this long after their last change are published again. */
  republishAfterMs?: number;
  /**
   * Deliveries stuck `delivering` this long (their success was lost in a crash, or the
   * process died mid-attempt) are published again; far longer than any attempt takes.
   */
  staleDeliveringMs?: number;
  /** Relayed events and finished deliveries (with their attempts) older than this are deleted. */
  retentionDays?: number;
}

/** How often the relay deletes what is past retention; every relay does, which is harmless. */
const RETENTION_INTERVAL_MS = 60 * 60_000;
const RETENTION_BATCH = 5000;

/** The relay from the outbox to the deliveries and the transport. */
export interface OutboxRelay {
  /** Starts relaying; stops when `signal` fires. */
  start(signal: AbortSignal): Promise<void>;
  /** Relays what is due now and returns how many events it relayed. */
  runOnce(): Promise<number>;
  /** Resolves once the relay in progress has finished. */
  drain(): Promise<void>;
}

const CLAIM = `
  update kai.events e set claim_expires_at = now() + $2 * interval '1 millisecond',
    relay_attempts = relay_attempts + 1
  where e.id in (
    select id from kai.events
    where relayed_at is null and relay_attempts < ${MAX_RELAY_ATTEMPTS}
      and (claim_expires_at is null or claim_expires_at < now())
    order by occurred_at
    limit $1
    for update skip locked
  )
  returning e.id, e.type, e.owner_id, e.subject, e.data, e.critical, e.occurred_at`;

/** The transport message of a delivery's first try (or of a replay's). */
export function firstMessage(delivery: Delivery): TransportMessage {
  const waitMs = delivery.deliverAfter ? delivery.deliverAfter.getTime() - Date.now() : 0;
  return {
    message: { deliveryId: delivery.id, replay: delivery.replays, retriedBefore: 0 },
    retries: delivery.maxAttempts - 1,
    deduplicationId: `${delivery.id}:${delivery.replays}:0`,
    flowControlKey: flowControlKeyOf(delivery),
    ...(waitMs > 0 ? { delayMs: waitMs } : {}),
  };
}

/**
 * Creates the outbox relay: woken by NOTIFY (and a slow poll), it claims events with
 * SKIP LOCKED, so several relays share the work; fans each out into in-app rows and deliveries
 * in one transaction that also marks it relayed; and hands the deliveries to the transport
 * (inside that transaction for the local one). A failing event is retried later and never
 * stops the loop.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, logger, transport } = options;
  const batchSize = options.batchSize ?? 50;
  const claimMs = options.claimMs ?? 30_000;
  const republishAfterMs = options.republishAfterMs ?? 2 * 60_000;
  const staleDeliveringMs = options.staleDeliveringMs ?? 10 * 60_000;
  let stopped = true;
  let running: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let lastSweep = Date.now();
  let lastRetention = 0;
  const retentionDays = options.retentionDays ?? 30;

  const relayEvent = async (row: EventRow) => {
    const event = eventFromRow(row);
    const eventLogger = logger.child({ eventId: event.id, eventType: event.type });
    let created: Delivery[] = [];
    try {
      created = await db.transaction(async (tx) => {
        const deliveries = await fanOutEvent(tx, event, options.fanOut);
        await tx.query(
          `update kai.events set relayed_at = now(), claim_expires_at = null, relay_error = null
           where id = $1`,
          [event.id],
        );
        if (transport.transactional) await transport.publish(deliveries.map(firstMessage), tx);
        return deliveries;
      });
    } catch (error) {
      eventLogger.error({ err: error }, 'relaying an event failed; it is retried');
      await db
        .query('update kai.events set relay_error = $2 where id = $1', [
          event.id,
          String((error as Error).message ?? error).slice(0, 2000),
        ])
        .catch(() => undefined);
      return false;
    }

    if (!transport.transactional && created.length > 0) {
      await transport.publish(created.map(firstMessage)).catch((error: unknown) => {
        eventLogger.warn({ err: error }, 'publishing failed; the sweep publishes again');
      });
    }
    eventLogger.debug({ deliveries: created.length }, 'event relayed');
    return true;
  };

  // Pending deliveries whose message never reached the transport are published again, and so
  // are deliveries stuck mid-attempt, with a message of their own that carries the retries left.
  const sweep = async () => {
    const rows = await db.query<DeliveryRow>(
      `select * from public.deliveries
       where (status = 'pending' and updated_at < now() - $1 * interval '1 millisecond'
           and (deliver_after is null or deliver_after <= now()))
         or (status = 'delivering' and updated_at < now() - $2 * interval '1 millisecond')
       order by updated_at limit 500`,
      [republishAfterMs, staleDeliveringMs],
    );
    if (rows.length === 0) return;
    const messages = rows.map((row): TransportMessage => {
      const delivery = deliveryFromRow(row);
      if (delivery.status === 'pending') return firstMessage(delivery);
      return {
        message: {
          deliveryId: delivery.id,
          replay: delivery.replays,
          retriedBefore: delivery.attempts,
        },
        retries: Math.max(0, delivery.maxAttempts - 1 - delivery.attempts),
        deduplicationId: `${delivery.id}:${delivery.replays}:stale:${delivery.attempts}`,
        flowControlKey: flowControlKeyOf(delivery),
      };
    });
    await transport.publish(messages);
    await db.query(`update public.deliveries set updated_at = now() where id = any($1::uuid[])`, [
      rows.map((r) => r.id),
    ]);
    logger.info({ republished: rows.length }, 'swept deliveries published again');
  };

  // Old history goes in bounded batches, so one pass never holds locks for long.
  const prune = async () => {
    const [deliveries] = await db.query<{ n: number }>(
      `with gone as (
         delete from public.deliveries where id in (
           select id from public.deliveries
           where status in ('delivered', 'dead', 'cancelled')
             and updated_at < now() - $1 * interval '1 day'
           limit ${RETENTION_BATCH})
         returning 1)
       select count(*)::int as n from gone`,
      [retentionDays],
    );
    const [events] = await db.query<{ n: number }>(
      `with gone as (
         delete from kai.events where id in (
           select id from kai.events
           where relayed_at is not null and relayed_at < now() - $1 * interval '1 day'
           limit ${RETENTION_BATCH})
         returning 1)
       select count(*)::int as n from gone`,
      [retentionDays],
    );
    if ((deliveries?.n ?? 0) + (events?.n ?? 0) > 0) {
      logger.info(
        { deliveries: deliveries?.n, events: events?.n },
        'deleted history past retention',
      );
    }
  };

  const runOnce = async () => {
    let relayed = 0;
    for (;;) {
      const rows = await db.query<EventRow>(CLAIM, [batchSize, claimMs]);
      for (const row of rows) if (await relayEvent(row)) relayed += 1;
      if (rows.length < batchSize) break;
    }
    if (Date.now() - lastSweep >= republishAfterMs) {
      lastSweep = Date.now();
      await sweep().catch((error: unknown) => logger.warn({ err: error }, 'the sweep failed'));
    }
    if (Date.now() - lastRetention >= RETENTION_INTERVAL_MS) {
      lastRetention = Date.now();
      await prune().catch((error: unknown) => logger.warn({ err: error }, 'pruning failed'));
    }
    return relayed;
  };

  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    again = false;
    running = runOnce()
      .catch((error: unknown) => {
        logger.error({ err: error }, 'the outbox relay failed; it tries again');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (again) wake();
      });
  }

  return {
    runOnce,

    async start(signal) {
      stopped = false;
      unlisten = await db.listen(EVENTS_CHANNEL, () => wake());
      timer = setInterval(wake, options.pollIntervalMs);
      timer.unref?.();
      signal.addEventListener('abort', () => {
        stopped = true;
        if (timer) clearInterval(timer);
        void unlisten?.();
      });
      wake();
    },

    async drain() {
      stopped = true;
      if (timer) clearInterval(timer);
      await unlisten?.();
      unlisten = undefined;
      await running;
    },
  };
}
