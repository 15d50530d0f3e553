import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/logging/logger.ts';
import { loadModelRepository } from '../gpu-pool/models/model-repository.ts';
import { installPaddleOcr } from '../scripts/build-models.ts';

const logger = createLogger({ level: 'silent' });
let root: string;
let pristine: string;

/** A copy of the installed model, changed by `change`, loaded; the repository is closed after. */
async function loadChanged(
  name: string,
  change: (versionDir: string, manifest: Record<string, unknown>) => Promise<void> | void,
) {
  const modelDir = join(root, name);
  await cp(pristine, modelDir, { recursive: true });
  const versionDir = join(modelDir, 'paddleocr', '4');
  const manifestPath = join(versionDir, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  await change(versionDir, manifest);
  await writeFile(manifestPath, JSON.stringify(manifest));

  const repository = await loadModelRepository(modelDir, { logger, executionProviders: ['cpu'] });
  const status = repository.models().find((m) => m.name === 'paddleocr');
  await repository.close();
  return status;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kai-ocr-manifest-'));
  pristine = join(root, 'pristine');
  await installPaddleOcr(pristine);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('installPaddleOcr', () => {
  it('writes a manifest that says what the model is, where it is from and its licence', async () => {
    const manifest = JSON.parse(
      await readFile(join(pristine, 'paddleocr', '4', 'manifest.json'), 'utf8'),
    );
    expect(manifest).toMatchObject({
      name: 'paddleocr',
      version: '4',
      file: 'det.onnx',
      license: 'MIT',
      assets: { dictionary: 'ppocr_keys_v1.txt' },
      companions: [
        { role: 'recognizer', file: 'rec.onnx' },
        { role: 'orientation', file: 'cls.onnx' },
      ],
    });
    expect(manifest.source).toMatch(/@gutenye\/ocr-models/);
    expect(manifest.description).toMatch(/PP-OCRv4/);
    expect(manifest.synthetic).toBeUndefined();
  });
});

describe('a model with companions and assets', () => {
  it('runs its companion graph and finds its assets; closing releases them', async () => {
    const repository = await loadModelRepository(pristine, {
      logger,
      executionProviders: ['cpu'],
    });
    const model = repository.get('paddleocr');
    expect(model).toBeDefined();

    const input = new Tensor('float32', new Float32Array(3 * 48 * 64), [1, 3, 48, 64]);
    const outputs = await model?.runCompanion('recognizer', { x: input });
    expect(outputs?.['softmax_11.tmp_0']?.dims).toEqual([1, 8, 6625]);
    await expect(model?.runCompanion('nothing', { x: input })).rejects.toThrow(/no companion/);
    expect(model?.assetPath('nothing')).toBeUndefined();

    await repository.close();
    await expect(model?.runCompanion('recognizer', { x: input })).rejects.toThrow(/closed/);
  });

  it('is not ready, with a reason, when a companion file is missing', async () => {
    const status = await loadChanged('no-rec', (dir) => rm(join(dir, 'rec.onnx')));
    expect(status).toMatchObject({ ready: false });
    expect(status?.reason).toBe('companion recognizer: model file rec.onnx is missing');
  });

  it('is not ready when a companion disagrees with its tensors', async () => {
    const status = await loadChanged('bad-tensors', (_dir, manifest) => {
      const [companion] = manifest.companions as { outputs: { name: string }[] }[];
      if (companion?.outputs[0]) companion.outputs[0].name = 'logits';
    });
    expect(status?.ready).toBe(false);
    expect(status?.reason).toMatch(/companion recognizer: manifest.json lists outputs \[logits\]/);
  });

  it('is not ready when an asset is missing, or when two companions share a role', async () => {
    const noDictionary = await loadChanged('no-dict', (dir) => rm(join(dir, 'ppocr_keys_v1.txt')));
    expect(noDictionary?.reason).toBe('asset dictionary (ppocr_keys_v1.txt) is missing');

    const twice = await loadChanged('twice', (_dir, manifest) => {
      const companions = manifest.companions as unknown[];
      manifest.companions = [companions[0], companions[0]];
    });
    expect(twice?.reason).toMatch(/companions expects each companion role at most once/);
  });
});
