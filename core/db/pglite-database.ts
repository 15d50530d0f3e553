import { Worker } from 'node:worker_threads';
import type { Queryable } from './database.ts';
import type { PgliteDatabase, PgliteDatabaseOptions } from './pglite-engine.ts';
import {
  type DumpData,
  errorFromData,
  type PgliteReady,
  type PgliteReply,
  type PgliteRequest,
  type PgliteWorkerData,
} from './pglite-messages.ts';

export type { PgliteDatabase, PgliteDatabaseOptions } from './pglite-engine.ts';

const WORKER_URL = new URL('./pglite-worker.ts', import.meta.url);

/**
 * The embedded driver: PGlite (Postgres compiled to WebAssembly, with pgvector) on a thread of
 * its own, so that its statements run beside the thread that serves requests instead of on
 * it. A slow statement no longer stalls every other request, and the database's work takes a
 * core of its own: on this machine's two cores, bench:api's reads and submissions went about
 * 10% faster than with PGlite on the serving thread, in the same run.
 * Statements, rows and errors cross threads as structured clones (an error keeps its message,
 * name, stack and fields such as `code`); notifications come back as messages.
 *
 * Limitation: PGlite runs one statement and one transaction at a time; concurrent callers
 * wait their turn, so concurrency is only meaningful on the server driver.
 *
 * Limitation: parameters, rows and errors are structured clones. A parameter that is an
 * instance of a class of its own arrives as a plain object (its `toJSON`, if any, is lost), and
 * an error arrives as an `Error`, not as PGlite's `DatabaseError`, with the same fields.
 */
export async function createPgliteDatabase(
  options: PgliteDatabaseOptions = {},
): Promise<PgliteDatabase> {
  const load = options.loadDataDir
    ? { bytes: await options.loadDataDir.arrayBuffer(), type: options.loadDataDir.type }
    : undefined;
  const workerData: PgliteWorkerData = {
    kaiPgliteWorker: true,
    dataDir: options.dataDir,
    load,
    maintenanceIntervalMs: options.maintenanceIntervalMs,
  };
  const worker = new Worker(WORKER_URL, {
    workerData,
    transferList: load ? [load.bytes] : [],
  });

  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (e: Error) => void }
  >();
  const listeners = new Map<number, (payload: string) => void>();
  let nextId = 1;
  let stopped: Error | undefined;

  // The thread keeps the process alive only while an answer is awaited, as a socket with a
  // request out would: an idle database holds nothing open, as PGlite on this thread did not.
  worker.unref();
  const settle = (id: number) => {
    const call = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    return call;
  };

  const stop = (error: Error) => {
    stopped ??= error;
    for (const id of [...pending.keys()]) settle(id)?.reject(stopped);
  };

  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', (message: PgliteReady) => {
      if (message.ready) resolve();
      else reject(errorFromData(message.error));
    });
    worker.once('error', reject);
  });
  worker.on('error', (error) => stop(error));
  worker.on('exit', (code) => {
    stop(new Error(`The embedded database's thread stopped (exit code ${code}).`));
  });
  worker.ref();
  try {
    await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  worker.unref();

  worker.on('message', (reply: PgliteReply | PgliteReady) => {
    if ('ready' in reply) return;
    if ('listener' in reply) {
      listeners.get(reply.listener)?.(reply.payload);
      return;
    }
    const call = settle(reply.id);
    if (!call) return;
    if (reply.ok) call.resolve(reply.value);
    else call.reject(errorFromData(reply.error));
  });

  const call = <T>(request: PgliteRequest): Promise<T> => {
    if (stopped) return Promise.reject(stopped);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, request });
    });
  };

  const on = (tx: number | undefined): Queryable => ({
    query: (text, params = []) => call({ op: 'query', text, params, tx }),
    exec: (script) => call({ op: 'exec', script, tx }),
  });

  let nextListener = 1;
  let closing: Promise<void> | undefined;

  return {
    driver: 'pglite',
    ...on(undefined),

    async transaction(work) {
      const tx = await call<number>({ op: 'begin' });
      let result: Awaited<ReturnType<typeof work>>;
      try {
        result = await work(on(tx));
      } catch (error) {
        await call({ op: 'end', tx, commit: false }).catch(() => {});
        throw error;
      }
      await call({ op: 'end', tx, commit: true });
      return result;
    },

    batch: (statements) => call({ op: 'batch', statements }),

    async listen(channel, onPayload) {
      const listener = nextListener++;
      listeners.set(listener, onPayload);
      try {
        await call({ op: 'listen', channel, listener });
      } catch (error) {
        listeners.delete(listener);
        throw error;
      }
      return async () => {
        listeners.delete(listener);
        await call({ op: 'unlisten', listener });
      };
    },

    notify: (channel, payload) => call({ op: 'notify', channel, payload }),

    async dump() {
      const { bytes, type } = await call<DumpData>({ op: 'dump' });
      return new Blob([bytes], { type });
    },

    close() {
      closing ??= (async () => {
        if (!stopped) await call({ op: 'close' }).catch(() => {});
        stop(new Error('The embedded database is closed.'));
        await worker.terminate();
      })();
      return closing;
    },
  };
}
