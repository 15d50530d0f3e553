import { z } from 'zod';
import type { Queryable } from '../db/database.ts';

/**
 * The body of every transport message: which delivery to attempt, and how many retries
 * earlier messages of this delivery already used (a Retry-After reschedule starts a new one).
 */
export const deliveryMessageSchema = z.strictObject({
  deliveryId: z.uuid(),
  /** Which round of the delivery: 0 for the first, n for its n-th replay. */
  replay: z.number().int().min(0),
  retriedBefore: z.number().int().min(0).max(100),
});

export type DeliveryMessage = z.infer<typeof deliveryMessageSchema>;

/** One message for the transport to bring to Kai's delivery endpoint. */
export interface TransportMessage {
  message: DeliveryMessage;
  /** Retries the transport makes after the first try of this message. */
  retries: number;
  /** Unique per delivery and try round; a second publish with it is dropped. */
  deduplicationId: string;
  /** Deliveries to one endpoint share a key, so one slow endpoint cannot hog the rest. */
  flowControlKey: string;
  /** Not before this many milliseconds from now. */
  delayMs?: number;
}

/**
 * How deliveries reach the delivery handler: QStash in production, Kai's own queue embedded.
 * Both retry a message whose handler answered non-2xx on the same schedule and call the
 * failure callback once its retries are exhausted.
 */
export interface DeliveryTransport {
  readonly name: 'qstash' | 'local';
  /**
   * Publishes messages. The local transport writes them in `tx` when given one, so they exist
   * exactly when the caller's change commits; QStash cannot join a transaction and ignores it.
   */
  publish(messages: readonly TransportMessage[], tx?: Queryable): Promise<void>;
  /** Whether `publish` joins the caller's transaction. */
  readonly transactional: boolean;
}

/** The retry schedule: `baseMs * 2^retried`, capped at `maxMs`. */
export interface RetrySchedule {
  baseMs: number;
  maxMs: number;
}

/** The delay before retry number `retried + 1` (`retried` counts from 0). */
export function retryDelayMs(schedule: RetrySchedule, retried: number): number {
  return Math.min(schedule.maxMs, schedule.baseMs * 2 ** retried);
}

/** The same schedule as a QStash `Upstash-Retry-Delay` expression (milliseconds). */
export function qstashRetryDelayExpression(schedule: RetrySchedule): string {
  return `min(${schedule.maxMs}, pow(2, retried) * ${schedule.baseMs})`;
}

/** The flow-control key of a delivery's destination. */
export function flowControlKeyOf(delivery: { channel: string; endpointId: string | null }) {
  return delivery.endpointId ? `endpoint-${delivery.endpointId}` : `channel-${delivery.channel}`;
}

/**
 * Parses a `Retry-After` header (seconds or an HTTP date) to milliseconds from `now`, capped
 * at `maxMs`; undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | null, now: number, maxMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(maxMs, Math.max(0, ms));
}

/** The most retries one message may ask for. */
export const MAX_TRANSPORT_RETRIES = 100;
