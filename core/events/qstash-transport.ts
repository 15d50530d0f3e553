import { Client } from '@upstash/qstash';
import type { Logger } from '../logging/logger.ts';
import {
  type DeliveryTransport,
  qstashRetryDelayExpression,
  type RetrySchedule,
  type TransportMessage,
} from './delivery-transport.ts';

export interface QstashTransportOptions {
  /** `QSTASH_TOKEN`. */
  token: string;
  /** `QSTASH_URL`: QStash's API (a regional URL, or a local server speaking its contract). */
  baseUrl: string;
  /** The public URL of the `webhook-delivery` function. */
  deliveryUrl: string;
  /** The public URL of the `qstash-callback` function. */
  callbackUrl: string;
  schedule: RetrySchedule;
  /** Messages QStash runs at once per flow-control key (per endpoint). */
  flowParallelism: number;
  logger: Logger;
}

/**
 * The production transport: each message is published with the `@upstash/qstash` Client to
 * Kai's delivery endpoint with its retries and Kai's retry schedule (`Upstash-Retry-Delay`),
 * its deduplication id, a flow-control key per endpoint, and callback and failure-callback
 * URLs. QStash signs every request it makes; the endpoint verifies that before anything else.
 */
export function createQstashTransport(options: QstashTransportOptions): DeliveryTransport {
  const client = new Client({
    token: options.token,
    baseUrl: options.baseUrl,
    devMode: false,
    enableTelemetry: false,
  });
  const retryDelay = qstashRetryDelayExpression(options.schedule);

  const publishOne = async (m: TransportMessage) => {
    await client.publish({
      url: options.deliveryUrl,
      body: JSON.stringify(m.message),
      headers: { 'content-type': 'application/json' },
      retries: m.retries,
      retryDelay,
      deduplicationId: m.deduplicationId,
      flowControl: { key: m.flowControlKey, parallelism: options.flowParallelism },
      callback: `${options.callbackUrl}/success`,
      failureCallback: `${options.callbackUrl}/failure`,
      ...(m.delayMs && m.delayMs > 0 ? { delay: Math.ceil(m.delayMs / 1000) } : {}),
    });
  };

  return {
    name: 'qstash',
    transactional: false,
    async publish(messages) {
      // Limitation: QStash cannot join a Postgres transaction; a message that fails to publish
      // leaves its delivery pending, and the relay's sweep publishes it again (same
      // deduplication id, so QStash drops a second copy).
      const results = await Promise.allSettled(messages.map(publishOne));
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length > 0) {
        options.logger.warn({ failed: failed.length }, 'some messages did not reach QStash');
        throw (failed[0] as PromiseRejectedResult).reason;
      }
    },
  };
}
