import type { Hono } from 'hono';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logging/logger.ts';
import { createGuardedHttpClient, type GuardedHttpClient } from '../net/guarded-http.ts';
import type { OutboundPolicy } from '../net/outbound-guard.ts';
import type { DeliveryConfig } from './delivery-config.ts';
import { createDeliveryHandler, type DeliveryHandler } from './delivery-handler.ts';
import { deliveryEndpointApp, qstashCallbackApp } from './delivery-routes.ts';
import type { DeliveryTransport } from './delivery-transport.ts';
import { createLocalTransport, type LocalTransport } from './local-transport.ts';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.ts';
import { createSignatureVerifier, generateSigningKeys } from './qstash-signature.ts';
import { createQstashTransport } from './qstash-transport.ts';

/** The in-process addresses of the two endpoints when the local transport calls them. */
export const LOCAL_DELIVERY_URL = 'http://kai.internal/functions/v1/webhook-delivery';
export const LOCAL_CALLBACK_URL = 'http://kai.internal/functions/v1/qstash-callback';

export interface ComposeDeliveryOptions {
  db: Database;
  logger: Logger;
  config: DeliveryConfig;
  /** What the guarded client allows beyond the public internet; nothing unless given. */
  outbound?: OutboundPolicy;
  /** Local transport tuning; defaults suit `npm start`. */
  local?: { concurrency?: number; flowParallelism?: number; pollIntervalMs?: number };
  relayPollIntervalMs?: number;
}

/** The delivery machinery of one process: relay, transport, handler and endpoint apps. */
export interface ComposedDelivery {
  http: GuardedHttpClient;
  transport: DeliveryTransport;
  handler: DeliveryHandler;
  relay: OutboxRelay;
  deliveryApp: Hono;
  callbackApp: Hono;
  /** Starts the relay (and the local transport's loop); both stop when `signal` fires. */
  start(signal: AbortSignal): Promise<void>;
  /** Waits for the work in flight, then closes the outbound sockets. */
  drain(): Promise<void>;
}

/**
 * Wires the delivery path from config: the guarded client, the transport (`local` by default:
 * Kai's own queue calling the same delivery endpoint in process, signed like QStash under a
 * local key unless QStash's keys are configured; or `qstash`), the delivery handler behind the
 * delivery and callback endpoints, and the outbox relay.
 */
export function composeDelivery(options: ComposeDeliveryOptions): ComposedDelivery {
  const { db, logger, config } = options;
  const http = createGuardedHttpClient({ timeoutMs: config.timeoutMs, ...options.outbound });
  const keys = config.signingKeys ?? generateSigningKeys();
  const verifier = createSignatureVerifier(keys);

  // The transport and the handler need each other: the handler republishes (Retry-After), the
  // local transport calls the handler's app. The app is looked up when a message is sent.
  const apps: { delivery?: Hono; callback?: Hono } = {};
  let local: LocalTransport | undefined;
  let transport: DeliveryTransport;

  if (config.transport.kind === 'qstash') {
    transport = createQstashTransport({
      token: config.transport.token,
      baseUrl: config.transport.baseUrl,
      deliveryUrl: config.transport.deliveryUrl,
      callbackUrl: config.transport.callbackUrl,
      schedule: config.schedule,
      flowParallelism: options.local?.flowParallelism ?? 10,
      logger,
    });
  } else {
    local = createLocalTransport({
      db,
      logger: logger.child({ component: 'local-transport' }),
      signingKey: keys.current,
      deliveryUrl: LOCAL_DELIVERY_URL,
      callbackUrl: LOCAL_CALLBACK_URL,
      dispatch: async (request) => {
        const app = request.url.startsWith(LOCAL_CALLBACK_URL) ? apps.callback : apps.delivery;
        if (!app) throw new Error('The delivery endpoints are not composed yet.');
        return await app.fetch(request);
      },
      schedule: config.schedule,
      concurrency: options.local?.concurrency ?? 32,
      flowParallelism: options.local?.flowParallelism ?? 10,
      pollIntervalMs: options.local?.pollIntervalMs ?? 1000,
    });
    transport = local;
  }

  const handler = createDeliveryHandler({
    db,
    logger: logger.child({ component: 'delivery' }),
    http,
    transport,
    schedule: config.schedule,
    failureThreshold: config.failureThreshold,
    providers: { email: config.email, sms: config.sms, push: config.push },
  });
  // With QStash the public URLs are known, and each request's signed subject must be one.
  const urls =
    config.transport.kind === 'qstash'
      ? { delivery: config.transport.deliveryUrl, callback: config.transport.callbackUrl }
      : { delivery: undefined, callback: undefined };
  apps.delivery = deliveryEndpointApp({ handler, verifier, logger, expectedUrl: urls.delivery });
  apps.callback = qstashCallbackApp({ handler, verifier, logger, expectedUrl: urls.callback });

  const relay = createOutboxRelay({
    db,
    logger: logger.child({ component: 'outbox-relay' }),
    transport,
    fanOut: {
      notificationsEnabled: config.notificationsEnabled,
      defaultChannel: config.defaultChannel,
      maxAttempts: config.retries + 1,
    },
    pollIntervalMs: options.relayPollIntervalMs ?? 2000,
    retentionDays: config.retentionDays,
  });

  return {
    http,
    transport,
    handler,
    relay,
    deliveryApp: apps.delivery,
    callbackApp: apps.callback,
    async start(signal) {
      await relay.start(signal);
      await local?.start(signal);
    },
    async drain() {
      await relay.drain();
      await local?.drain();
      http.close();
    },
  };
}
