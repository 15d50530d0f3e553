import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { ThreadRequest, ThreadResponse, ThreadSetup, WireTensor } from './inference-wire.ts';

/** One model's graphs, open on a thread of their own. */
export interface InferenceThread {
  /** Runs graph `role` (`main` or a companion's role) on `feeds`; rejects with its error. */
  run(
    role: string,
    feeds: ort.InferenceSession.FeedsType,
  ): Promise<ort.InferenceSession.ReturnType>;
  /** Releases the sessions and ends the thread; later runs reject. Safe to call twice. */
  close(): Promise<void>;
}

interface Pending {
  resolve: (outputs: Record<string, WireTensor>) => void;
  reject: (error: Error) => void;
}

const WORKER_URL = new URL('./inference-worker.ts', import.meta.url);

/**
 * Opens `setup.graphs` with onnxruntime-node on a worker thread. onnxruntime-node computes a
 * `run` on the thread that calls it; here that is not the pool's, so claims, heartbeats,
 * settlements and probes go on while a batch computes, and a long batch cannot starve its own
 * leases. Feeds are copied to the thread and outputs moved back. Rejects when the graphs do not
 * open; a thread that dies fails the runs under way and every later one.
 */
export async function openInferenceThread(setup: ThreadSetup): Promise<InferenceThread> {
  const worker = new Worker(WORKER_URL, { workerData: setup });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | undefined;

  const opened = new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve: () => resolve(), reject });
  });

  const failAll = (error: Error) => {
    failure ??= error;
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
  };

  // An idle thread must not keep a process alive that is otherwise done; one with runs under
  // way must.
  worker.on('message', (response: ThreadResponse) => {
    const entry = pending.get(response.id);
    if (!entry) return;
    pending.delete(response.id);
    if (pending.size === 0) worker.unref();
    if (response.ok) entry.resolve(response.outputs);
    else entry.reject(new Error(response.error));
  });
  worker.on('error', (error) =>
    failAll(new Error(`The inference thread failed: ${error.message}`)),
  );
  worker.on('exit', (code) => failAll(new Error(`The inference thread exited with code ${code}.`)));

  const request = (message: ThreadRequest) =>
    new Promise<Record<string, WireTensor>>((resolve, reject) => {
      if (failure) {
        reject(failure);
        return;
      }
      pending.set(message.id, { resolve, reject });
      worker.ref();
      worker.postMessage(message);
    });

  try {
    await opened;
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  return {
    async run(role, feeds) {
      const wired: Record<string, WireTensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) {
        wired[name] = {
          type: tensor.type,
          data: tensor.data as WireTensor['data'],
          dims: tensor.dims,
        };
      }
      const outputs = await request({ kind: 'run', id: nextId++, role, feeds: wired });

      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, wire] of Object.entries(outputs)) {
        tensors[name] = new ort.Tensor(wire.type as 'float32', wire.data as Float32Array, [
          ...wire.dims,
        ]);
      }
      return tensors;
    },

    async close() {
      if (failure) return;
      await request({ kind: 'close', id: nextId++ }).catch(() => {});
      failAll(new Error('The inference thread was closed.'));
      await worker.terminate();
    },
  };
}
