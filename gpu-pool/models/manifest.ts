import { z } from 'zod';

/** The execution providers Kai knows how to ask onnxruntime-node for, in no particular order. */
export const EXECUTION_PROVIDERS = ['cuda', 'cpu'] as const;

/** An onnxruntime-node execution provider Kai can run a model on. */
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** The largest batch a manifest may prefer; larger batches belong to a different pool design. */
export const MAX_BATCH_SIZE = 1024;

const MAX_QUEUE_DELAY_MS = 10_000;

const safeName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const tensorSpec = z.strictObject({
  name: z.string().min(1, { error: 'expects the tensor name the model uses' }),
  dtype: z.enum(['float32', 'int64', 'int32', 'uint8'], {
    error: 'expects one of float32, int64, int32, uint8',
  }),
  shape: z
    .array(
      z.union([
        z.int().positive(),
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expects a symbolic dim name' }),
      ]),
      { error: 'expects a list of positive sizes or symbolic dim names such as "batch"' },
    )
    .min(1, { error: 'expects at least one dimension' }),
});

const ascendingBatchSizes = z
  .array(
    z
      .int({ error: 'expects whole numbers' })
      .min(1, { error: 'expects batch sizes of at least 1' })
      .max(MAX_BATCH_SIZE, { error: `expects batch sizes of at most ${MAX_BATCH_SIZE}` }),
  )
  .min(1, { error: 'expects at least one batch size' })
  .refine((sizes) => sizes.every((size, i) => i === 0 || size > (sizes[i - 1] ?? 0)), {
    error: 'expects batch sizes in strictly ascending order',
  });

const providerList = z
  .array(z.enum(EXECUTION_PROVIDERS, { error: `expects one of ${EXECUTION_PROVIDERS.join(', ')}` }))
  .min(1, { error: 'expects at least one execution provider' })
  .refine((providers) => new Set(providers).size === providers.length, {
    error: 'expects each execution provider at most once',
  });

const roleName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, {
  error: 'expects a lower-case role name such as "recognizer"',
});

const fileName = z.string().regex(safeName, {
  error: 'expects a plain file name inside the version folder, such as model.onnx (no "/" or "..")',
});

/** A further ONNX graph of the same model version, opened and checked like the main one. */
const companionSpec = z.strictObject({
  role: roleName,
  file: fileName,
  inputs: z.array(tensorSpec).min(1, { error: 'expects at least one input' }),
  outputs: z.array(tensorSpec).min(1, { error: 'expects at least one output' }),
});

/**
 * The schema of `manifest.json`, the file beside each model version that tells the pool how to
 * serve it. Unknown keys are rejected, so a misspelt optional field is reported rather than
 * silently ignored. Folder agreement (name and version) is checked by `parseModelManifest`.
 */
export const modelManifestSchema = z.strictObject({
  name: z.string().regex(safeName, {
    error: 'expects letters, digits, ".", "_" or "-", starting with a letter or digit',
  }),
  version: z.string().regex(/^\d{1,15}$/, { error: 'expects a string of digits such as "1"' }),
  description: z.string().min(1, { error: 'expects a sentence saying what the model does' }),
  file: z.string().regex(safeName, {
    error:
      'expects a plain file name inside the version folder, such as model.onnx (no "/" or "..")',
  }),
  inputs: z.array(tensorSpec).min(1, { error: 'expects at least one input' }),
  outputs: z.array(tensorSpec).min(1, { error: 'expects at least one output' }),
  preprocessing: z.record(z.string(), z.unknown()).optional(),
  preferredBatchSizes: ascendingBatchSizes,
  maxQueueDelayMs: z
    .int({ error: 'expects whole milliseconds' })
    .min(0, { error: `expects milliseconds from 0 to ${MAX_QUEUE_DELAY_MS}` })
    .max(MAX_QUEUE_DELAY_MS, { error: `expects milliseconds from 0 to ${MAX_QUEUE_DELAY_MS}` }),
  executionProviders: providerList.default(['cuda', 'cpu']),
  /** True for a model with computed weights that exists to exercise the pool, not to recognize. */
  synthetic: z.boolean().optional(),
  /** The weights' licence, as an SPDX identifier such as "MIT" or "Apache-2.0". */
  license: z.string().min(1).optional(),
  /** Where the weights come from (a package, a release), for models Kai did not make. */
  source: z.string().min(1).optional(),
  /**
   * Further graphs its handler runs beside `file` (a recognizer beside a detector, a text
   * encoder beside an image encoder); each is opened, checked and released with the model.
   */
  companions: z
    .array(companionSpec)
    .refine((parts) => new Set(parts.map((part) => part.role)).size === parts.length, {
      error: 'expects each companion role at most once',
    })
    .optional(),
  /** Other files of the version folder its handler reads (a dictionary, a tokenizer), by role. */
  assets: z.record(roleName, fileName).optional(),
});

/** A validated `manifest.json`, with defaults filled in. */
export type ModelManifest = z.infer<typeof modelManifestSchema>;

/** What a manifest is written as, before defaults are filled in. */
export type ModelManifestInput = z.input<typeof modelManifestSchema>;

/** The outcome of `parseModelManifest`: the manifest, or one sentence naming every problem. */
export type ManifestParseResult =
  | { ok: true; manifest: ModelManifest }
  | { ok: false; reason: string };

/**
 * Validates a parsed `manifest.json` found at `<model>/<version>/`, including that its `name`
 * and `version` agree with those folders. Never throws: a bad manifest comes back as a reason
 * naming each failing field and what it expects.
 */
export function parseModelManifest(
  raw: unknown,
  folder: { name: string; version: string },
): ManifestParseResult {
  const parsed = modelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.join('.');
      return path === '' ? issue.message : `${path} ${issue.message}`;
    });
    return { ok: false, reason: `manifest.json is invalid: ${problems.join('; ')}` };
  }

  const manifest = parsed.data;
  const mismatches: string[] = [];
  if (manifest.name !== folder.name) {
    mismatches.push(`name "${manifest.name}" does not match its folder "${folder.name}"`);
  }
  if (manifest.version !== folder.version) {
    mismatches.push(`version "${manifest.version}" does not match its folder "${folder.version}"`);
  }
  if (mismatches.length > 0) {
    return { ok: false, reason: `manifest.json is invalid: ${mismatches.join('; ')}` };
  }

  return { ok: true, manifest };
}
