import type { Hono } from 'hono';
import { composeEdgeDelivery, type EdgeDelivery } from '../shared/edge-delivery.ts';

/**
 * The `webhook-delivery` function's app: QStash (or the local transport) posts each delivery
 * message here; the app verifies `Upstash-Signature` before anything else and makes one
 * attempt. Exported apart from `index.ts` so Node tests can run it too.
 */
export function createWebhookDeliveryFunction(env: Record<string, string | undefined>): {
  app: Hono;
  edge: EdgeDelivery;
} {
  const edge = composeEdgeDelivery(env);
  return { app: edge.composed.deliveryApp, edge };
}
