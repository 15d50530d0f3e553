// The embedded database's own thread: it opens PGlite (pglite-engine.ts) and answers the
// requests of `createPgliteDatabase` (pglite-database.ts) on the thread that spawned it.
import { availableParallelism } from 'node:os';
import {
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  workerData,
} from 'node:worker_threads';
import type { Queryable } from './database.ts';
import { openPgliteEngine, type PgliteDatabase, TRANSACTION_CLOSED } from './pglite-engine.ts';
import {
  type DumpData,
  errorData,
  type PgliteReady,
  type PgliteReply,
  type PgliteRequest,
  type PgliteWorkerData,
} from './pglite-messages.ts';

// Thrown into a transaction that its caller ended without committing; never leaves here.
const ROLLBACK = Symbol('rollback');

interface OpenTransaction {
  tx: Queryable | undefined;
  decide: (commit: boolean) => void;
  settled: Promise<void>;
}

async function serve(port: MessagePort, data: PgliteWorkerData): Promise<void> {
  const spinMs = availableParallelism() > 1 ? IDLE_SPIN_MS : 0;
  let db: PgliteDatabase;
  try {
    db = await openPgliteEngine({
      dataDir: data.dataDir,
      loadDataDir: data.load ? new Blob([data.load.bytes], { type: data.load.type }) : undefined,
      maintenanceIntervalMs: data.maintenanceIntervalMs,
    });
  } catch (error) {
    port.postMessage({ ready: false, error: errorData(error) } satisfies PgliteReady);
    return;
  }

  const transactions = new Map<number, OpenTransaction>();
  const listeners = new Map<number, () => Promise<void>>();
  let nextTransaction = 1;

  const on = (tx: number | undefined): Queryable => {
    if (tx === undefined) return db;
    const open = transactions.get(tx)?.tx;
    if (!open) throw new Error(TRANSACTION_CLOSED);
    return open;
  };

  // A transaction stays open, holding PGlite, until its caller sends `end`.
  const begin = async (): Promise<number> => {
    const id = nextTransaction++;
    let decide: (commit: boolean) => void = () => {};
    const decided = new Promise<boolean>((resolve) => {
      decide = resolve;
    });
    let opened: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const open: OpenTransaction = { tx: undefined, decide, settled: Promise.resolve() };
    transactions.set(id, open);
    open.settled = db
      .transaction(async (tx) => {
        open.tx = tx;
        opened();
        const commit = await decided;
        open.tx = undefined;
        if (!commit) throw ROLLBACK;
      })
      .catch((error: unknown) => {
        if (error !== ROLLBACK) throw error;
      })
      .finally(() => transactions.delete(id));
    await Promise.race([ready, open.settled]);
    return id;
  };

  const end = async (id: number, commit: boolean): Promise<void> => {
    const open = transactions.get(id);
    if (!open) throw new Error(TRANSACTION_CLOSED);
    open.decide(commit);
    await open.settled;
  };

  const handle = async (request: PgliteRequest): Promise<unknown> => {
    switch (request.op) {
      case 'query':
        return await on(request.tx).query(request.text, request.params);
      case 'exec':
        return await on(request.tx).exec(request.script);
      case 'batch':
        return await db.batch(request.statements);
      case 'begin':
        return await begin();
      case 'end':
        return await end(request.tx, request.commit);
      case 'listen': {
        const { listener } = request;
        const unlisten = await db.listen(request.channel, (payload) => {
          port.postMessage({ listener, payload } satisfies PgliteReply);
        });
        listeners.set(listener, unlisten);
        return undefined;
      }
      case 'unlisten': {
        const unlisten = listeners.get(request.listener);
        listeners.delete(request.listener);
        await unlisten?.();
        return undefined;
      }
      case 'notify':
        return await db.notify(request.channel, request.payload);
      case 'dump': {
        const blob = await db.dump();
        return { bytes: await blob.arrayBuffer(), type: blob.type } satisfies DumpData;
      }
      case 'close':
        await db.close();
        return undefined;
    }
  };

  // Requests being handled; the thread polls for the next one once none is.
  let handling = 0;
  const dispatch = ({ id, request }: { id: number; request: PgliteRequest }) => {
    handling += 1;
    handle(request)
      .then(
        (value) => {
          const transfer = request.op === 'dump' ? [(value as DumpData).bytes] : [];
          port.postMessage({ id, ok: true, value } satisfies PgliteReply, transfer);
        },
        (error: unknown) => {
          port.postMessage({ id, ok: false, error: errorData(error) } satisfies PgliteReply);
        },
      )
      .finally(() => {
        handling -= 1;
        if (handling === 0 && spinMs > 0) awaitNextBriefly(port, spinMs, dispatch);
      });
  };
  port.on('message', dispatch);
  port.postMessage({ ready: true } satisfies PgliteReady);
}

/**
 * How long the thread polls for the next request after answering the last, before it goes back
 * to its event loop to sleep. A sleeping thread is woken by the sender's `postMessage`, which on
 * this machine's virtual cores is dear: in a loop of round trips with 30 us of work between
 * them (throwaway script), a thread that slept cost each one about 20 us more of the sending
 * thread's CPU and 50 us more time than one that polled. In bench:api, run in turns with and
 * without it, reads and submissions went 10-20% faster. Under load requests come closer
 * together than this. Only with a core to spare: on one core the poll would hold up the thread
 * it waits for.
 *
 * Limitation: the poll spends up to this much of a core after every answer, also when no
 * request follows (an idle database spends nothing).
 */
const IDLE_SPIN_MS = 0.25;

/**
 * Polls `port` for up to `spinMs` and hands the first message that arrives to `dispatch`
 * (which returns at once: the request's work goes on as promises once this returns).
 */
function awaitNextBriefly(
  port: MessagePort,
  spinMs: number,
  dispatch: (message: { id: number; request: PgliteRequest }) => void,
): void {
  const until = performance.now() + spinMs;
  while (performance.now() < until) {
    const next = receiveMessageOnPort(port);
    if (next) {
      dispatch(next.message);
      return;
    }
  }
}

// Only on a thread spawned for it, so that importing this file elsewhere starts nothing.
const data = workerData as PgliteWorkerData | undefined;
if (parentPort && data?.kaiPgliteWorker === true) void serve(parentPort, data);
