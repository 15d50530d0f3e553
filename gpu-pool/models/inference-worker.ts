// The body of an inference thread (see inference-thread.ts): opens one model's graphs with
// onnxruntime-node and runs them on request. onnxruntime-node's `run` computes on the calling
// thread, so running here keeps the pool's event loop free while a batch computes.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { ThreadRequest, ThreadResponse, ThreadSetup, WireTensor } from './inference-wire.ts';

const setup = workerData as ThreadSetup;
const port = parentPort;
if (port === null) throw new Error('inference-worker.ts runs only as a worker thread.');

const sessions = new Map<string, ort.InferenceSession>();

const toTensor = (wire: WireTensor) =>
  new ort.Tensor(wire.type as 'float32', wire.data as Float32Array, wire.dims);

async function open(): Promise<void> {
  for (const [role, path] of Object.entries(setup.graphs)) {
    sessions.set(
      role,
      await ort.InferenceSession.create(path, {
        executionProviders: setup.executionProviders,
        graphOptimizationLevel: 'all',
      }),
    );
  }
}

async function run(request: Extract<ThreadRequest, { kind: 'run' }>): Promise<ThreadResponse> {
  const session = sessions.get(request.role);
  if (!session) return { id: request.id, ok: false, error: `No graph ${request.role}.` };

  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, wire] of Object.entries(request.feeds)) feeds[name] = toTensor(wire);
  const outputs = await session.run(feeds);

  const wired: Record<string, WireTensor> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    wired[name] = { type: tensor.type, data: tensor.data as WireTensor['data'], dims: tensor.dims };
  }
  return { id: request.id, ok: true, outputs: wired };
}

const opened = open().then(
  () => port.postMessage({ id: 0, ok: true, outputs: {} } satisfies ThreadResponse),
  (error: unknown) =>
    port.postMessage({
      id: 0,
      ok: false,
      error: (error as Error).message,
    } satisfies ThreadResponse),
);

port.on('message', (request: ThreadRequest) => {
  void opened.then(async () => {
    if (request.kind === 'close') {
      await Promise.all([...sessions.values()].map((session) => session.release()));
      sessions.clear();
      port.postMessage({ id: request.id, ok: true, outputs: {} } satisfies ThreadResponse);
      return;
    }

    let response: ThreadResponse;
    try {
      response = await run(request);
    } catch (error) {
      response = { id: request.id, ok: false, error: (error as Error).message };
    }
    const buffers = response.ok
      ? Object.values(response.outputs).flatMap((t) =>
          ArrayBuffer.isView(t.data) ? [t.data.buffer as ArrayBuffer] : [],
        )
      : [];
    port.postMessage(response, buffers);
  });
});
