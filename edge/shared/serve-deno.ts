// Serves an edge function's app under Deno: on Supabase the runtime picks the port; tests set
// PORT (0 for a free one) and read the line printed once listening.
import type { Hono } from 'hono';

declare const Deno: {
  env: { toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): unknown;
};

/** Starts `app` with `Deno.serve`. */
export function serveDeno(name: string, app: Hono): void {
  const env = Deno.env.toObject();
  Deno.serve(
    {
      port: Number(env.PORT ?? 8000),
      hostname: env.HOST ?? '0.0.0.0',
      // One line on stdout once listening, whatever LOG_LEVEL says: local runs and tests read
      // the port from it (the Supabase runtime ignores it).
      onListen: ({ port }) => console.log(JSON.stringify({ function: name, listening: port })),
    },
    app.fetch,
  );
}
