import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { type ExecutionProvider, type ModelManifest, parseModelManifest } from './manifest.ts';
import { openSession, type ProviderAvailability } from './open-session.ts';

/** One model version whose session opened and agrees with its manifest. */
export interface LoadedVersion {
  name: string;
  version: string;
  manifest: ModelManifest;
  provider: ExecutionProvider;
  session: InferenceSession;
  /** Why this provider, for the one log line per model. */
  providerReason: string;
  /** True when a provider reported available failed to open the model before this one. */
  fellBackAfterFailure: boolean;
  /** The version folder, where the manifest's assets are. */
  dir: string;
  /** The sessions of the manifest's companion graphs, by role. */
  companions: Map<string, InferenceSession>;
}

/** A loaded version, or a sentence saying why it cannot be served. */
export type LoadVersionResult =
  | { ok: true; loaded: LoadedVersion }
  | { ok: false; reason: string; description: string };

/**
 * Reads, validates and opens `<modelDir>/<name>/<version>/`. Never throws: a missing or
 * malformed manifest, a missing model file, a file onnxruntime cannot open, or a model whose
 * tensors differ from its manifest all come back as `ok: false` with a reason.
 */
export async function loadModelVersion(
  modelDir: string,
  name: string,
  version: string,
  options: { availability: ProviderAvailability[]; allowed?: ExecutionProvider[] },
): Promise<LoadVersionResult> {
  const versionDir = join(modelDir, name, version);

  // The manifest first: without it nothing else about the version can be trusted.
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(versionDir, 'manifest.json'), 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `manifest.json is missing from ${name}/${version}/`
        : `manifest.json cannot be read: ${(error as Error).message}`;
    return { ok: false, reason, description: '' };
  }
  const parsed = parseModelManifest(raw, { name, version });
  if (!parsed.ok) return { ok: false, reason: parsed.reason, description: rawDescription(raw) };
  const manifest = parsed.manifest;
  const description = manifest.description;

  const modelPath = join(versionDir, manifest.file);
  if (!(await fileExists(modelPath))) {
    return { ok: false, reason: `model file ${manifest.file} is missing`, description };
  }

  const wanted = manifest.executionProviders.filter(
    (provider) => options.allowed === undefined || options.allowed.includes(provider),
  );
  if (wanted.length === 0) {
    const listed = manifest.executionProviders.join(', ');
    const reason = `none of its execution providers (${listed}) is allowed in this pool`;
    return { ok: false, reason, description };
  }

  const opened = await openSession(modelPath, wanted, options.availability);
  if (!opened.ok) return { ok: false, reason: opened.reason, description };

  // A manifest that disagrees with the model's tensors would fail every request later.
  const mismatch =
    tensorsDiffer('input', manifest.inputs, opened.session.inputMetadata) ??
    tensorsDiffer('output', manifest.outputs, opened.session.outputMetadata);
  if (mismatch !== undefined) {
    await opened.session.release();
    return { ok: false, reason: mismatch, description };
  }

  // Companion graphs and assets belong to the version: one that is missing makes it unservable.
  const companions = await openCompanions(versionDir, manifest, opened.provider, options);
  if (!companions.ok) {
    await opened.session.release();
    return { ok: false, reason: companions.reason, description };
  }
  for (const [role, file] of Object.entries(manifest.assets ?? {})) {
    if (!(await fileExists(join(versionDir, file)))) {
      await releaseAll(companions.sessions);
      await opened.session.release();
      return { ok: false, reason: `asset ${role} (${file}) is missing`, description };
    }
  }

  return {
    ok: true,
    loaded: {
      dir: versionDir,
      companions: companions.sessions,
      name,
      version,
      manifest,
      provider: opened.provider,
      session: opened.session,
      providerReason: opened.reason,
      fellBackAfterFailure: opened.fellBackAfterFailure,
    },
  };
}

/** Opens each companion on the main graph's provider (and those after it), checked alike. */
async function openCompanions(
  versionDir: string,
  manifest: ModelManifest,
  provider: ExecutionProvider,
  options: { availability: ProviderAvailability[] },
): Promise<{ ok: true; sessions: Map<string, InferenceSession> } | { ok: false; reason: string }> {
  const sessions = new Map<string, InferenceSession>();
  const providers = manifest.executionProviders.slice(
    manifest.executionProviders.indexOf(provider),
  );

  for (const companion of manifest.companions ?? []) {
    const failWith = async (reason: string) => {
      await releaseAll(sessions);
      return { ok: false as const, reason: `companion ${companion.role}: ${reason}` };
    };
    const path = join(versionDir, companion.file);
    if (!(await fileExists(path))) return failWith(`model file ${companion.file} is missing`);

    const opened = await openSession(path, providers, options.availability);
    if (!opened.ok) return failWith(opened.reason);
    sessions.set(companion.role, opened.session);

    const mismatch =
      tensorsDiffer('input', companion.inputs, opened.session.inputMetadata) ??
      tensorsDiffer('output', companion.outputs, opened.session.outputMetadata);
    if (mismatch !== undefined) return failWith(mismatch);
  }
  return { ok: true, sessions };
}

async function releaseAll(sessions: Map<string, InferenceSession>): Promise<void> {
  await Promise.all([...sessions.values()].map((session) => session.release()));
}

/** Names, dtypes and ranks must agree; symbolic and fixed sizes are left to the run. */
function tensorsDiffer(
  what: 'input' | 'output',
  listed: ModelManifest['inputs'],
  metadata: readonly InferenceSession.ValueMetadata[],
): string | undefined {
  const expected = listed.map((tensor) => tensor.name).sort();
  const present = metadata.map((value) => value.name).sort();
  if (expected.join('\0') !== present.join('\0')) {
    const [listedNames, modelNames] = [expected.join(', '), present.join(', ')];
    return `manifest.json lists ${what}s [${listedNames}] but the model has [${modelNames}]`;
  }

  for (const tensor of listed) {
    const value = metadata.find((entry) => entry.name === tensor.name);
    if (!value?.isTensor) return `the model's ${what} ${tensor.name} is not a tensor`;
    const which = `${what} ${tensor.name}`;
    if (value.type !== tensor.dtype) {
      return `manifest.json says ${which} is ${tensor.dtype} but the model has ${value.type}`;
    }
    if (value.shape.length !== tensor.shape.length) {
      const [listedRank, modelRank] = [tensor.shape.length, value.shape.length];
      return `manifest.json gives ${which} ${listedRank} dims but the model has ${modelRank}`;
    }
  }
  return undefined;
}

async function fileExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function rawDescription(raw: unknown): string {
  const description = (raw as { description?: unknown } | null)?.description;
  return typeof description === 'string' ? description : '';
}
