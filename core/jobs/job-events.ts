/** The NOTIFY channel on which the jobs table announces new jobs and status/progress changes. */
export const JOB_EVENTS_CHANNEL = 'kai_jobs';

/**
 * One change of a job on `JOB_EVENTS_CHANNEL`. A notification carries one (the jobs table's
 * row trigger) or a JSON array of them (the pool's claims and completions, which announce the
 * rows of one statement together); `jobChangesOf` reads both.
 */
export interface JobChange {
  op: 'insert' | 'update';
  id: string;
  type: string;
  queue: string;
  model: string | null;
  ownerId: string | null;
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'dead';
  progress: number;
  progressMessage: string | null;
  /** A cancellation was asked for while the job runs; its handler's AbortSignal fires. */
  cancelRequested: boolean;
}

/**
 * The changes one notification on `JOB_EVENTS_CHANNEL` carries, in the order they were made;
 * none when the payload is not JSON, so that a stray notification cannot break a listener.
 */
export function jobChangesOf(payload: string): JobChange[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return [];
  }
  if (Array.isArray(parsed)) return parsed as JobChange[];
  return parsed !== null && typeof parsed === 'object' ? [parsed as JobChange] : [];
}
