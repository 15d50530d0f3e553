import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadModelRepository,
  type ModelRepository,
  type ModelRepositoryOptions,
} from '../gpu-pool/models/model-repository.ts';
import { type BuiltModel, buildSyntheticMlp, writeCorruptModel } from '../scripts/build-models.ts';

// onnxruntime prints its own errors to stderr when the CUDA fallback test asks for CUDA on a
// machine without it; the repository's log line already says why, so keep the output clean.
ort.env.logLevel = 'fatal';

interface LogLine {
  level: number;
  msg: string;
  model?: string;
  provider?: string;
  reason?: string;
}

const INFO = 30;
const WARN = 40;
const SMALL = { layerWidths: [4, 8, 2] };

let root: string;
let built: BuiltModel;
const opened: ModelRepository[] = [];

/** Loads `modelDir` with a pino logger whose JSON lines the test can read back. */
async function load(modelDir: string, options: Partial<ModelRepositoryOptions> = {}) {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line)) },
  );
  const repository = await loadModelRepository(modelDir, { logger, ...options });
  opened.push(repository);
  return { repository, lines };
}

function input(batch: number, offset = 0): ort.Tensor {
  const data = Float32Array.from({ length: batch * 256 }, (_, i) => Math.sin(i * 0.01 + offset));
  return new ort.Tensor('float32', data, [batch, 256]);
}

function dir(name: string): string {
  return join(root, name);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kai-models-'));
  built = await buildSyntheticMlp(dir('main'));
});

afterAll(async () => {
  await Promise.all(opened.map((repository) => repository.close()));
  await rm(root, { recursive: true, force: true });
});

describe('buildSyntheticMlp', () => {
  it('writes byte-identical files on every run', async () => {
    const again = await buildSyntheticMlp(dir('again'));

    // Buffer.equals, since a deep equality over five megabytes takes seconds.
    const sameModel = (await readFile(again.modelPath)).equals(await readFile(built.modelPath));
    const sameManifest = (await readFile(again.manifestPath)).equals(
      await readFile(built.manifestPath),
    );
    expect(sameModel).toBe(true);
    expect(sameManifest).toBe(true);
  });

  it('holds over a million parameters, counted from the ONNX initializers', async () => {
    const model = onnxProto.onnx.ModelProto.decode(await readFile(built.modelPath));
    const parameterCount = (model.graph?.initializer ?? [])
      .map((tensor) => (tensor.dims ?? []).reduce<number>((n, dim) => n * Number(dim), 1))
      .reduce((sum, size) => sum + size, 0);

    expect(parameterCount).toBeGreaterThanOrEqual(1_000_000);
    expect(parameterCount).toBe(built.parameterCount);
  });

  it('says plainly in its manifest that the model is synthetic', async () => {
    const manifest = JSON.parse(await readFile(built.manifestPath, 'utf8'));

    expect(manifest.synthetic).toBe(true);
    expect(manifest.description).toMatch(/^Synthetic model, not a real recognizer/);
  });
});

describe('loadModelRepository', () => {
  it('serves the synthetic model and runs batches of 16 and 1 on the real session', async () => {
    const { repository } = await load(dir('main'));
    const model = repository.get('synthetic-mlp');
    if (model === undefined) throw new Error('synthetic-mlp is not ready');

    const batch = (await model.run({ input: input(16) })).output as ort.Tensor;
    const single = (await model.run({ input: input(1) })).output as ort.Tensor;

    expect(batch.dims).toEqual([16, 64]);
    expect(single.dims).toEqual([1, 64]);
    // Row 0 of the batch is the same vector as the single input, so it gives the same answer.
    const row0 = Array.from((batch.data as Float32Array).subarray(0, 64));
    const singleRow = Array.from(single.data as Float32Array);
    row0.forEach((value, i) => {
      expect(value).toBeCloseTo(singleRow[i] as number, 4);
    });
    expect(singleRow.every(Number.isFinite)).toBe(true);
  });

  it('gives identical outputs from two separate generations', async () => {
    const a = (await load(dir('main'))).repository.get('synthetic-mlp');
    const b = (await load(dir('again'))).repository.get('synthetic-mlp');

    const outA = (await a?.run({ input: input(4, 1) }))?.output as ort.Tensor;
    const outB = (await b?.run({ input: input(4, 1) }))?.output as ort.Tensor;
    expect(Array.from(outA.data as Float32Array)).toEqual(Array.from(outB.data as Float32Array));
  });

  it('lists the model ready, with its provider and manifest', async () => {
    const { repository, lines } = await load(dir('main'));
    const [status] = repository.models();

    expect(status).toMatchObject({ name: 'synthetic-mlp', version: '1', versions: ['1'] });
    expect(status?.ready).toBe(true);
    expect(['cuda', 'cpu']).toContain(status?.provider);
    expect(status?.manifest?.preferredBatchSizes).toEqual([1, 4, 8, 16, 32, 64]);
    expect(status?.description).toMatch(/^Synthetic model/);

    const providerLine = lines.find((line) => line.model === 'synthetic-mlp' && line.provider);
    expect(providerLine?.msg).toMatch(`synthetic-mlp v1 runs on ${status?.provider}: `);
    if (status?.provider === 'cpu') expect(providerLine?.reason).toMatch(/cuda/i);
  });

  it('logs exactly one provider line per model', async () => {
    const modelDir = dir('two');
    await buildSyntheticMlp(modelDir, { ...SMALL, name: 'alpha' });
    await buildSyntheticMlp(modelDir, { ...SMALL, name: 'beta' });
    const { lines } = await load(modelDir);

    const providerLines = lines.filter((line) => line.provider !== undefined);
    expect(providerLines.map((line) => line.model)).toEqual(['alpha', 'beta']);
    expect(providerLines.every((line) => line.level === INFO)).toBe(true);
    expect(lines.filter((line) => line.level >= WARN)).toEqual([]);
  });

  it('reports a corrupt model file as not ready while the model beside it serves', async () => {
    const modelDir = dir('corrupt');
    await buildSyntheticMlp(modelDir, { ...SMALL, name: 'good' });
    await writeCorruptModel(modelDir, 'broken');
    const { repository, lines } = await load(modelDir);

    const byName = Object.fromEntries(repository.models().map((model) => [model.name, model]));
    expect(byName.good?.ready).toBe(true);
    expect(byName.broken?.ready).toBe(false);
    expect(byName.broken?.reason).toMatch(/^model file model\.onnx cannot be opened: /);
    expect(repository.get('broken')).toBeUndefined();
    expect(lines.filter((line) => line.level === WARN).map((line) => line.model)).toEqual([
      'broken',
    ]);
  });

  it.each([
    [
      'a negative batch size',
      { preferredBatchSizes: [-1, 4] },
      /preferredBatchSizes\.0 .*at least 1/,
    ],
    ['batch sizes out of order', { preferredBatchSizes: [8, 4] }, /ascending/],
    ['a name that differs from its folder', { name: 'other' }, /"other" does not match its folder/],
    ['a version that differs from its folder', { version: '2' }, /version "2" does not match/],
    ['a path out of the folder', { file: '../../etc/passwd' }, /^manifest.json is invalid: file /],
    ['an unknown provider', { executionProviders: ['tpu'] }, /executionProviders\.0 expects one/],
    ['a misspelt field', { synthetc: true }, /synthetc/],
    ['a missing model file', { file: 'absent.onnx' }, /^model file absent\.onnx is missing$/],
    [
      'an input the model does not have',
      { inputs: [{ name: 'pixels', dtype: 'float32', shape: ['batch', 4] }] },
      /lists inputs \[pixels\] but the model has \[input\]/,
    ],
    [
      'an output of another dtype',
      { outputs: [{ name: 'output', dtype: 'int64', shape: ['batch', 2] }] },
      /output output is int64 but the model has float32/,
    ],
  ])(
    'reports a manifest with %s as not ready, naming the problem',
    async (label, change, reason) => {
      const modelDir = dir(`bad-${label.replaceAll(' ', '-')}`);
      await buildSyntheticMlp(modelDir, { ...SMALL, name: 'fine' });
      const bad = await buildSyntheticMlp(modelDir, { ...SMALL, name: 'bad' });
      const manifest = JSON.parse(await readFile(bad.manifestPath, 'utf8'));
      await writeFile(bad.manifestPath, JSON.stringify({ ...manifest, ...change }));
      const { repository, lines } = await load(modelDir);

      const [badStatus, fineStatus] = repository.models();
      expect(badStatus).toMatchObject({ name: 'bad', ready: false });
      expect(badStatus?.reason).toMatch(reason);
      expect(fineStatus).toMatchObject({ name: 'fine', ready: true });
      expect(lines.some((line) => line.level === WARN && line.model === 'bad')).toBe(true);
    },
  );

  it('reports a manifest that is not JSON as not ready', async () => {
    const modelDir = dir('not-json');
    const bad = await buildSyntheticMlp(modelDir, { ...SMALL, name: 'bad' });
    await writeFile(bad.manifestPath, '{ "name": ');
    const { repository } = await load(modelDir);

    expect(repository.models()[0]?.reason).toMatch(/^manifest.json cannot be read: /);
  });

  it('reports a model folder without a version folder as not ready', async () => {
    const modelDir = dir('no-version');
    await mkdir(join(modelDir, 'empty'), { recursive: true });
    const { repository } = await load(modelDir);

    expect(repository.models()).toEqual([
      {
        name: 'empty',
        version: '',
        versions: [],
        ready: false,
        reason: expect.any(String),
        description: '',
      },
    ]);
    expect(repository.models()[0]?.reason).toMatch(/no version folder/);
  });

  it('gives an empty repository and one warn line for a missing model directory', async () => {
    const { repository, lines } = await load(join(root, 'nowhere'));

    expect(repository.models()).toEqual([]);
    expect(lines.filter((line) => line.level === WARN)).toHaveLength(1);
    expect(lines.find((line) => line.level === WARN)?.msg).toMatch(/nowhere cannot be read/);
  });

  it('serves the highest numeric version and lists them all', async () => {
    const modelDir = dir('versions');
    for (const version of ['1', '2', '10']) {
      await buildSyntheticMlp(modelDir, { ...SMALL, name: 'multi', version });
    }
    const { repository } = await load(modelDir);

    expect(repository.models()[0]).toMatchObject({
      version: '10',
      versions: ['1', '2', '10'],
      ready: true,
    });
    expect(repository.get('multi')?.version).toBe('10');
  });

  it('keeps to the providers the pool allows and the machine is declared to have', async () => {
    const modelDir = dir('providers');
    const cudaOnly = await buildSyntheticMlp(modelDir, { ...SMALL, name: 'cuda-only' });
    const manifest = JSON.parse(await readFile(cudaOnly.manifestPath, 'utf8'));
    await writeFile(
      cudaOnly.manifestPath,
      JSON.stringify({ ...manifest, executionProviders: ['cuda'] }),
    );
    await buildSyntheticMlp(modelDir, { ...SMALL, name: 'either' });

    const declared = await load(modelDir, { availableProviders: ['cpu'] });
    const [cudaStatus, eitherStatus] = declared.repository.models();
    expect(cudaStatus?.reason).toMatch(/cuda was declared unavailable/);
    expect(eitherStatus).toMatchObject({ ready: true, provider: 'cpu' });

    const allowed = await load(modelDir, { executionProviders: ['cpu'] });
    expect(allowed.repository.models()[0]?.reason).toBe(
      'none of its execution providers (cuda) is allowed in this pool',
    );
  });

  it('falls back to cpu with a warn line when CUDA is declared but cannot open', async () => {
    const { repository, lines } = await load(dir('main'), {
      availableProviders: ['cuda', 'cpu'],
    });
    const status = repository.models()[0];

    // Where CUDA really works this is just the GPU path, and there is no fallback to check.
    if (status?.provider === 'cuda') return;
    expect(status).toMatchObject({ ready: true, provider: 'cpu' });
    const line = lines.find((entry) => entry.provider === 'cpu');
    expect(line?.level).toBe(WARN);
    expect(line?.reason).toMatch(/^cuda failed to open the model: /);
  });

  it('releases sessions on close, after which runs reject', async () => {
    const { repository } = await load(dir('main'));
    const model = repository.get('synthetic-mlp');

    await repository.close();
    await repository.close();
    await expect(model?.run({ input: input(1) })).rejects.toThrow(/repository was closed/);
  });
});
