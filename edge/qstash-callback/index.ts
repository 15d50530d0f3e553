// Supabase edge function `qstash-callback` (Deno).
import { serveDeno } from '../shared/serve-deno.ts';
import { createQstashCallbackFunction } from './app.ts';

declare const Deno: { env: { toObject(): Record<string, string> } };

serveDeno('qstash-callback', createQstashCallbackFunction(Deno.env.toObject()).app);
