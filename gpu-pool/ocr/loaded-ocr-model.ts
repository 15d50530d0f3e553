import { readFile } from 'node:fs/promises';
import type { Tensor } from 'onnxruntime-node';
import type { LoadedModel } from '../models/model-repository.ts';
import { characterSetOf } from './ctc-decode.ts';
import type { OcrModel } from './ocr-engine.ts';

/** The companion role and asset role a PaddleOCR model version's manifest must list. */
export const RECOGNIZER_ROLE = 'recognizer';
export const DICTIONARY_ROLE = 'dictionary';
/** The optional companion that tells upright from upside-down lines. */
export const ORIENTATION_ROLE = 'orientation';

const cache = new WeakMap<LoadedModel, Promise<OcrModel>>();

/**
 * The OCR model of a loaded repository model: its main graph is the detector, its companion
 * `recognizer` the recognizer, its asset `dictionary` the character list, and the optional
 * companion `orientation` the line direction classifier. Built once per
 * loaded model; rejects when the manifest lacks the recognizer or the dictionary.
 */
export function ocrModelOf(model: LoadedModel): Promise<OcrModel> {
  let built = cache.get(model);
  if (!built) {
    built = buildOcrModel(model);
    cache.set(model, built);
    built.catch(() => cache.delete(model));
  }
  return built;
}

async function buildOcrModel(model: LoadedModel): Promise<OcrModel> {
  const dictionaryPath = model.assetPath(DICTIONARY_ROLE);
  const recognizer = model.manifest.companions?.find((part) => part.role === RECOGNIZER_ROLE);
  if (dictionaryPath === undefined || recognizer === undefined) {
    throw new Error(
      `Model ${model.name} v${model.version} is no OCR model: its manifest needs a companion ` +
        `"${RECOGNIZER_ROLE}" and an asset "${DICTIONARY_ROLE}".`,
    );
  }

  const charset = characterSetOf(await readFile(dictionaryPath, 'utf8'));
  const detectorIn = model.manifest.inputs[0]?.name ?? 'x';
  const detectorOut = model.manifest.outputs[0]?.name ?? '';
  const recognizerIn = recognizer.inputs[0]?.name ?? 'x';
  const recognizerOut = recognizer.outputs[0]?.name ?? '';
  const orientation = model.manifest.companions?.find((part) => part.role === ORIENTATION_ROLE);

  const only = (outputs: Record<string, unknown>, name: string) => {
    const tensor = outputs[name];
    if (!tensor) throw new Error(`Model ${model.name} answered without its output ${name}.`);
    return tensor as Awaited<ReturnType<OcrModel['detect']>>;
  };
  return {
    charset,
    detect: async (input) => only(await model.run({ [detectorIn]: input }), detectorOut),
    recognize: async (input) =>
      only(await model.runCompanion(RECOGNIZER_ROLE, { [recognizerIn]: input }), recognizerOut),
    ...(orientation && {
      classifyOrientation: async (input: Tensor) =>
        only(
          await model.runCompanion(ORIENTATION_ROLE, {
            [orientation.inputs[0]?.name ?? 'x']: input,
          }),
          orientation.outputs[0]?.name ?? '',
        ),
    }),
  };
}
