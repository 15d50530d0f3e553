// The embedded database's own thread: it opens PGlite (pglite-engine.ts) and answers the
// requests of `createPgliteDatabase` (pglite-database.ts) on the thread that spawned it.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
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
  let db: PgliteDatabase;
  try {
    db = await openPgliteEngine({
      dataDir: data.dataDir,
      loadDataDir: data.load ? new Blob([data.load.bytes], { type: data.load.type }) : undefined,
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

  port.on('message', ({ id, request }: { id: number; request: PgliteRequest }) => {
    handle(request).then(
      (value) => {
        const transfer = request.op === 'dump' ? [(value as DumpData).bytes] : [];
        port.postMessage({ id, ok: true, value } satisfies PgliteReply, transfer);
      },
      (error: unknown) => {
        port.postMessage({ id, ok: false, error: errorData(error) } satisfies PgliteReply);
      },
    );
  });
  port.postMessage({ ready: true } satisfies PgliteReady);
}

// Only on a thread spawned for it, so that importing this file elsewhere starts nothing.
const data = workerData as PgliteWorkerData | undefined;
if (parentPort && data?.kaiPgliteWorker === true) void serve(parentPort, data);
