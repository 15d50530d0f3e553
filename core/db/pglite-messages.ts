// What the embedded database's thread (pglite-worker.ts) and the thread that spawned it
// (pglite-database.ts) send each other.
import type { Statement } from './database.ts';

/** What the spawning thread passes: where the database lives, or the dump it starts from. */
export interface PgliteWorkerData {
  /** Marks a thread spawned to be the database's. */
  kaiPgliteWorker: true;
  dataDir: string | undefined;
  load: { bytes: ArrayBuffer; type: string } | undefined;
  maintenanceIntervalMs: number | undefined;
}

/** A request of the spawning thread; `tx` names a transaction `begin` opened. */
export type PgliteRequest =
  | { op: 'query'; text: string; params: readonly unknown[]; tx?: number | undefined }
  | { op: 'exec'; script: string; tx?: number | undefined }
  | { op: 'batch'; statements: readonly Statement[] }
  | { op: 'begin' }
  | { op: 'end'; tx: number; commit: boolean }
  | { op: 'listen'; channel: string; listener: number }
  | { op: 'unlisten'; listener: number }
  | { op: 'notify'; channel: string; payload: string }
  | { op: 'dump' }
  | { op: 'close' };

/** An error as it crosses threads: its message, name, stack and own fields (`code`...). */
export interface ErrorData {
  message: string;
  name: string;
  stack: string | undefined;
  fields: Record<string, unknown>;
}

/** The answer to request `id`, or a notification for listener `listener`. */
export type PgliteReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: ErrorData }
  | { listener: number; payload: string };

/** What a dump crosses threads as. */
export interface DumpData {
  bytes: ArrayBuffer;
  type: string;
}

/** The first message: the database is open, or it could not be. */
export type PgliteReady = { ready: true } | { ready: false; error: ErrorData };

/** Turns `error` into what crosses threads; `errorFromData` turns it back. */
export function errorData(error: unknown): ErrorData {
  if (!(error instanceof Error)) {
    return { message: String(error), name: 'Error', stack: undefined, fields: {} };
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (isCloneable(value)) fields[key] = value;
  }
  return { message: error.message, name: error.name, stack: error.stack, fields };
}

function isCloneable(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof value);
}

/** The error `data` was made from, as far as it crosses threads: an Error with its fields. */
export function errorFromData(data: ErrorData): Error {
  const error = Object.assign(new Error(data.message), data.fields);
  error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}
