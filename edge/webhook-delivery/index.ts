// Supabase edge function `webhook-delivery` (Deno).
import { serveDeno } from '../shared/serve-deno.ts';
import { createWebhookDeliveryFunction } from './app.ts';

declare const Deno: { env: { toObject(): Record<string, string> } };

serveDeno('webhook-delivery', createWebhookDeliveryFunction(Deno.env.toObject()).app);
