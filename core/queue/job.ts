/** A job's lifecycle states, as the jobs table's check constraint lists them. */
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'dead';

/** One row of `public.jobs`, in camelCase. */
export interface Job {
  id: string;
  ownerId: string | null;
  type: string;
  queue: string;
  model: string | null;
  status: JobStatus;
  payload: unknown;
  result: unknown;
  error: unknown;
  priority: number;
  attempts: number;
  maxAttempts: number;
  timeoutMs: number | null;
  idempotencyKey: string | null;
  progress: number;
  progressMessage: string | null;
  runAt: Date;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  cancelRequestedAt: Date | null;
}

/**
 * A job a worker holds, as a claim answers it: what the worker runs it with, not the whole row
 * (`Job`). The lease token fences every later write of this attempt.
 */
export interface ClaimedJob {
  id: string;
  ownerId: string | null;
  type: string;
  queue: string;
  model: string | null;
  status: 'running';
  payload: unknown;
  priority: number;
  /** 1 for the first attempt. */
  attempts: number;
  maxAttempts: number;
  timeoutMs: number | null;
  leaseToken: string;
  leaseExpiresAt: Date;
  workerId: string;
}

/** The columns of `kai.claimed_job`, the rows `kai.claim_jobs` answers. */
export interface ClaimedJobRow {
  id: string;
  owner_id: string | null;
  type: string;
  queue: string;
  model: string | null;
  status: 'running';
  payload: unknown;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_ms: number | null;
  lease_token: string;
  lease_expires_at: Date;
  worker_id: string;
}

/** The columns of `public.jobs` as the row mapper reads them. */
export interface JobRow {
  id: string;
  owner_id: string | null;
  type: string;
  queue: string;
  model: string | null;
  status: JobStatus;
  payload: unknown;
  result: unknown;
  error: unknown;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_ms: number | null;
  idempotency_key: string | null;
  progress: number;
  progress_message: string | null;
  run_at: Date;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  cancel_requested_at: Date | null;
  lease_token: string | null;
  lease_expires_at: Date | null;
  worker_id: string | null;
}

/** Maps a row of `public.jobs` to a `Job`. */
export function jobFromRow(row: JobRow): Job {
  return {
    id: row.id,
    ownerId: row.owner_id,
    type: row.type,
    queue: row.queue,
    model: row.model,
    status: row.status,
    payload: row.payload,
    result: row.result,
    error: row.error,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    idempotencyKey: row.idempotency_key,
    progress: row.progress,
    progressMessage: row.progress_message,
    runAt: row.run_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    cancelRequestedAt: row.cancel_requested_at,
  };
}

/** Maps a row that `kai.claim_jobs` answered. */
export function claimedJobFromRow(row: ClaimedJobRow): ClaimedJob {
  return {
    id: row.id,
    ownerId: row.owner_id,
    type: row.type,
    queue: row.queue,
    model: row.model,
    status: row.status,
    payload: row.payload,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    leaseToken: row.lease_token,
    leaseExpiresAt: row.lease_expires_at,
    workerId: row.worker_id,
  };
}
