import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInferenceThread } from '../gpu-pool/models/inference-thread.ts';
import { buildSyntheticMlp, writeCorruptModel } from '../scripts/build-models.ts';

let dir: string;
let modelPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kai-inference-thread-'));
  modelPath = (await buildSyntheticMlp(dir, { layerWidths: [256, 2048, 2048, 64] })).modelPath;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const batch = (rows: number, value: number) =>
  new ort.Tensor('float32', new Float32Array(rows * 256).fill(value), [rows, 256]);

describe('an inference thread', () => {
  it('answers what a session on this thread answers', async () => {
    const thread = await openInferenceThread({
      graphs: { main: modelPath },
      executionProviders: ['cpu'],
    });
    const session = await ort.InferenceSession.create(modelPath);
    try {
      const input = batch(4, 0.25);
      const [threaded, local] = await Promise.all([
        thread.run('main', { input }),
        session.run({ input }),
      ]);
      expect(threaded.output?.dims).toEqual([4, 64]);
      const expected = Array.from(local.output?.data as Float32Array);
      const got = Array.from(threaded.output?.data as Float32Array);
      expect(got).toHaveLength(expected.length);
      const worst = Math.max(...got.map((v, i) => Math.abs(v - (expected[i] ?? Number.NaN))));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await session.release();
      await thread.close();
    }
  });

  it('leaves the event loop free while a batch computes', async () => {
    const thread = await openInferenceThread({
      graphs: { main: modelPath },
      executionProviders: ['cpu'],
    });
    try {
      // One batch large enough to compute for hundreds of milliseconds: a loop that ran it
      // itself could not tick until it was done.
      const input = batch(4096, 0.5);
      await thread.run('main', { input: batch(1, 0) });
      let ticks = 0;
      const timer = setInterval(() => {
        ticks += 1;
      }, 1);
      const startedMs = performance.now();
      await thread.run('main', { input });
      const tookMs = performance.now() - startedMs;
      clearInterval(timer);
      // A blocked loop ticks at most once; a free one about once a millisecond.
      expect(tookMs).toBeGreaterThan(20);
      expect(ticks).toBeGreaterThan(Math.min(10, tookMs / 4));
    } finally {
      await thread.close();
    }
  });

  it('rejects a run of a graph it does not hold, and every run once closed', async () => {
    const thread = await openInferenceThread({
      graphs: { main: modelPath },
      executionProviders: ['cpu'],
    });
    await expect(thread.run('recognizer', { input: batch(1, 0) })).rejects.toThrow(
      /No graph recognizer/,
    );
    await expect(thread.run('main', { input: batch(1, 0) })).resolves.toHaveProperty('output');

    await thread.close();
    await thread.close();
    await expect(thread.run('main', { input: batch(1, 0) })).rejects.toThrow(/closed/);
  });

  it('rejects feeds the model refuses, and goes on serving', async () => {
    const thread = await openInferenceThread({
      graphs: { main: modelPath },
      executionProviders: ['cpu'],
    });
    try {
      const wrongWidth = new ort.Tensor('float32', new Float32Array(3), [1, 3]);
      await expect(thread.run('main', { input: wrongWidth })).rejects.toThrow();
      await expect(thread.run('main', { input: batch(2, 1) })).resolves.toHaveProperty('output');
    } finally {
      await thread.close();
    }
  });

  it('fails to open a file that is not a model, with the reason', async () => {
    const corrupt = await writeCorruptModel(dir, 'broken');
    await expect(
      openInferenceThread({ graphs: { main: corrupt }, executionProviders: ['cpu'] }),
    ).rejects.toThrow(/./);
  });
});
