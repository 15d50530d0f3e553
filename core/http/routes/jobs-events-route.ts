import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { callerOf } from '../../auth/authenticate.ts';
import { asCaller } from '../../auth/user-scope.ts';
import { NotFoundError } from '../../errors.ts';
import { JOB_EVENTS_CHANNEL, jobChangesOf } from '../../jobs/job-events.ts';
import type { Job } from '../../queue/job.ts';
import type { ApiDeps, AppEnv } from '../app-env.ts';
import { AUTH_PROBLEMS, BEARER_SECURITY, IdParam, problem } from '../openapi.ts';
import { findJob } from './jobs-queries.ts';
import { FINAL_STATUSES, jobJson } from './jobs-schemas.ts';

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

const events = createRoute({
  method: 'get',
  path: '/v1/jobs/{id}/events',
  tags: ['jobs'],
  summary: 'Follow a job as server-sent events until it completes, is cancelled or dies',
  description:
    'Each `job` event carries the whole job as JSON. The first is its current state, then one ' +
    'per change of status or progress (changes close together may arrive as one); the stream ' +
    'ends after the final state. Reconnecting starts again from the current state. The local ' +
    'form of Supabase Realtime on the jobs table.',
  security: BEARER_SECURITY,
  request: { params: IdParam },
  responses: {
    200: {
      description: 'An event stream of `job` events',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    ...AUTH_PROBLEMS,
    404: problem('No such job among yours.'),
  },
});

/** What makes two states of a job differ for a follower. */
function sameState(a: Job, b: Job): boolean {
  return (
    a.status === b.status &&
    a.progress === b.progress &&
    a.progressMessage === b.progressMessage &&
    a.attempts === b.attempts &&
    a.cancelRequestedAt?.getTime() === b.cancelRequestedAt?.getTime()
  );
}

/**
 * Limitation: on Vercel a function lives at most its maxDuration, so a stream there ends early;
 * clients reconnect (EventSource does) and start again from the current state. Frontends on
 * Supabase use Realtime on the jobs table instead, which the same RLS policy guards.
 *
 * `GET /v1/jobs/{id}/events` on `router`: the job's states as server-sent events, fed by the
 * jobs table's NOTIFY on `kai_jobs`. Each state is read again as the caller, so RLS decides
 * also here; a job of another user is a 404 like one that does not exist.
 */
export function jobEventsRoute(router: OpenAPIHono<AppEnv>, deps: ApiDeps): void {
  router.openapi(events, async (c) => {
    const auth = callerOf(c, { scope: 'jobs:read' });
    const { id } = c.req.valid('param');
    const read = () => asCaller(deps.db, auth, (tx) => findJob(tx, id));

    // Listen before the first read, so that no change between the two is missed.
    let changed = false;
    let wake = () => {};
    const unlisten = await deps.db.listen(JOB_EVENTS_CHANNEL, (payload) => {
      if (!payload.includes(id)) return;
      if (!jobChangesOf(payload).some((change) => change.id === id)) return;
      changed = true;
      wake();
    });

    let first: Job | undefined;
    try {
      first = await read();
    } catch (error) {
      await unlisten();
      throw error;
    }
    if (!first) {
      await unlisten();
      throw new NotFoundError(`You have no job ${id}.`);
    }

    const logger = c.get('logger').child({ jobId: id });
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
        wake();
      });

      let sequence = 0;
      let last = first;
      const send = (job: Job) =>
        stream.writeSSE({
          event: 'job',
          id: String(sequence++),
          data: JSON.stringify(jobJson(job)),
        });

      try {
        await send(last);
        while (open && !FINAL_STATUSES.has(last.status)) {
          if (!changed) {
            let timer: NodeJS.Timeout | undefined;
            await new Promise<void>((resolve) => {
              wake = resolve;
              timer = setTimeout(resolve, KEEP_ALIVE_MS);
            });
            clearTimeout(timer);
          }
          if (!open) break;
          if (!changed) {
            await stream.write(': keep-alive\n\n');
            continue;
          }

          changed = false;
          const current = await read();
          // Gone (retention deleted it): nothing more will happen.
          if (!current) break;
          if (!sameState(current, last)) await send(current);
          last = current;
        }
      } catch (error) {
        // Said once in the log; the stream only learns that it ended on an error.
        logger.error({ err: error }, 'job event stream failed');
        if (open) {
          await stream
            .writeSSE({ event: 'error', data: JSON.stringify({ code: 'internal_error' }) })
            .catch(() => {});
        }
      } finally {
        await unlisten();
      }
    }) as never;
  });
}
