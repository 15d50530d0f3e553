/** The NOTIFY channel on which the jobs table announces new jobs and status/progress changes. */
export const JOB_EVENTS_CHANNEL = 'kai_jobs';

/** The payload of one notification on `JOB_EVENTS_CHANNEL`, as the jobs trigger builds it. */
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
