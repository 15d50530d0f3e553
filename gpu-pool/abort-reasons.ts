/** Why the pool aborted a job's signal; decides what the pool writes afterwards. */
export type AbortReason =
  /** A user cancelled it: the job ends `cancelled`. */
  | 'cancelled'
  /** It ran past its `timeout_ms`: a retryable failure. */
  | 'timeout'
  /** Its lease is gone: another worker owns it now, so nothing is written. */
  | 'lease_lost'
  /** The pool stops hard: nothing is written; the lease expires and the job runs again. */
  | 'stopping';

/** An `Error` carrying an `AbortReason`, passed to `AbortController.abort`. */
export class PoolAbort extends Error {
  readonly reason: AbortReason;

  constructor(reason: AbortReason) {
    super(`The job was stopped: ${reason.replace('_', ' ')}.`);
    this.name = 'PoolAbort';
    this.reason = reason;
  }
}

/** The reason a signal was aborted by the pool, or undefined while it has not been. */
export function abortReasonOf(signal: AbortSignal): AbortReason | undefined {
  return signal.aborted && signal.reason instanceof PoolAbort ? signal.reason.reason : undefined;
}
