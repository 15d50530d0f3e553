import type { Hono } from 'hono';
import { composeEdgeDelivery, type EdgeDelivery } from '../shared/edge-delivery.ts';

/**
 * The `qstash-callback` function's app: QStash posts here after a delivery message succeeded
 * (`.../success`) and once its retries are exhausted (`.../failure`, the delivery becomes a
 * dead letter), signed like every QStash request.
 */
export function createQstashCallbackFunction(env: Record<string, string | undefined>): {
  app: Hono;
  edge: EdgeDelivery;
} {
  const edge = composeEdgeDelivery(env);
  return { app: edge.composed.callbackApp, edge };
}
