import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import type { Logger } from '../../core/logging/logger.ts';
import { type LoadedVersion, loadModelVersion } from './load-model-version.ts';
import type { ExecutionProvider, ModelManifest } from './manifest.ts';
import { declaredAvailability, detectExecutionProviders } from './open-session.ts';
import { scanModelDir } from './scan-model-dir.ts';

/** What `GET /v1/models` tells about one model: the served version and every version found. */
export interface ModelStatus {
  name: string;
  /** The served version: the highest numeric version folder; '' when there is none. */
  version: string;
  /** Every version folder, ascending. */
  versions: string[];
  ready: boolean;
  /** Why the model is not ready; a sentence naming the problem. */
  reason?: string;
  /** The provider the session runs on first, when ready. */
  provider?: ExecutionProvider;
  /** The validated manifest of the served version, when it is valid. */
  manifest?: ModelManifest;
  /** The manifest's description; '' when the manifest cannot be read. */
  description: string;
}

/** A model that is ready to serve: its manifest, its open session and a way to run it. */
export interface LoadedModel {
  name: string;
  version: string;
  manifest: ModelManifest;
  provider: ExecutionProvider;
  session: InferenceSession;
  /** Runs the session on `feeds`, keyed by the manifest's input names. */
  run(feeds: InferenceSession.FeedsType): Promise<InferenceSession.ReturnType>;
  /**
   * Runs the manifest's companion graph `role` on `feeds`; rejects for a role the manifest
   * does not list, or once the repository is closed.
   */
  runCompanion(
    role: string,
    feeds: InferenceSession.FeedsType,
  ): Promise<InferenceSession.ReturnType>;
  /** The absolute path of the manifest's asset `role`, or undefined when it lists none. */
  assetPath(role: string): string | undefined;
}

/** The models of one model directory, loaded once; see `loadModelRepository`. */
export interface ModelRepository {
  /** Every model found, ready or not, sorted by name. */
  models(): ModelStatus[];
  /** The ready model called `name`, or undefined when it is missing or not ready. */
  get(name: string): LoadedModel | undefined;
  /** Releases every session; later `run` calls reject. Safe to call twice. */
  close(): Promise<void>;
}

export interface ModelRepositoryOptions {
  logger: Logger;
  /**
   * Providers this pool may use, such as `['cpu']` to leave a shared GPU alone. The manifest's
   * order is kept; this only removes entries. @default every provider
   */
  executionProviders?: ExecutionProvider[];
  /** What this machine offers, when the caller already knows. @default detected */
  availableProviders?: ExecutionProvider[];
}

/**
 * Loads the model repository at `modelDir`, laid out as `<model>/<version>/manifest.json`
 * beside the manifest's model file. Per model it serves the highest numeric version and lists
 * all of them. Every problem stays with its model: a bad manifest, a missing or corrupt file
 * makes that model `ready: false` with a `reason` (logged at warn) and never stops the others.
 * A missing `modelDir` gives an empty repository and one warn line. Never throws.
 *
 * Logs one line per ready model naming its provider and why: info normally, warn when a
 * provider that should have worked (CUDA reported present) failed and it fell back.
 */
export async function loadModelRepository(
  modelDir: string,
  options: ModelRepositoryOptions,
): Promise<ModelRepository> {
  const logger = options.logger.child({ component: 'model-repository' });
  const startedMs = performance.now();
  const availability = options.availableProviders
    ? declaredAvailability(options.availableProviders)
    : detectExecutionProviders();

  const found = await scanModelDir(modelDir, logger);
  const statuses: ModelStatus[] = [];
  const loaded = new Map<string, LoadedVersion>();

  // One at a time: sessions share the machine's cores, and the log reads in order.
  for (const { name, versions } of found) {
    const version = versions.at(-1) ?? '';
    const versionStartedMs = performance.now();
    const result =
      version === ''
        ? { ok: false as const, reason: 'it has no version folder such as 1/', description: '' }
        : await loadModelVersion(modelDir, name, version, {
            availability,
            allowed: options.executionProviders,
          });

    if (!result.ok) {
      const { reason, description } = result;
      logger.warn({ model: name, version, reason }, `${name} is not ready: ${reason}`);
      statuses.push({ name, version, versions, ready: false, reason, description });
      continue;
    }

    const { manifest, provider, providerReason } = result.loaded;
    loaded.set(name, result.loaded);
    statuses.push({
      name,
      version,
      versions,
      ready: true,
      provider,
      manifest,
      description: manifest.description,
    });

    // The one line per model that says where it runs; a GPU that failed needs a person.
    const level = result.loaded.fellBackAfterFailure ? 'warn' : 'info';
    logger[level](
      {
        model: name,
        version,
        provider,
        reason: providerReason,
        durationMs: Math.round(performance.now() - versionStartedMs),
      },
      `${name} v${version} runs on ${provider}: ${providerReason}`,
    );
  }

  logger.info(
    {
      models: statuses.length,
      ready: loaded.size,
      durationMs: Math.round(performance.now() - startedMs),
    },
    'model repository loaded',
  );
  return createRepository(statuses, loaded);
}

function createRepository(
  statuses: ModelStatus[],
  loaded: Map<string, LoadedVersion>,
): ModelRepository {
  let closed = false;

  const models = new Map<string, LoadedModel>();
  for (const [name, entry] of loaded) {
    models.set(name, {
      name: entry.name,
      version: entry.version,
      manifest: entry.manifest,
      provider: entry.provider,
      session: entry.session,
      async run(feeds) {
        if (closed) throw new Error(`Model ${name} cannot run: its repository was closed.`);
        return entry.session.run(feeds);
      },
      async runCompanion(role, feeds) {
        if (closed) throw new Error(`Model ${name} cannot run: its repository was closed.`);
        const session = entry.companions.get(role);
        if (!session) throw new Error(`Model ${name} has no companion graph ${role}.`);
        return session.run(feeds);
      },
      assetPath(role) {
        const file = entry.manifest.assets?.[role];
        return file === undefined ? undefined : join(entry.dir, file);
      },
    });
  }

  return {
    models: () => statuses.map((status) => ({ ...status, versions: [...status.versions] })),
    get: (name) => models.get(name),
    async close() {
      if (closed) return;
      closed = true;
      const sessions = [...loaded.values()].flatMap((entry) => [
        entry.session,
        ...entry.companions.values(),
      ]);
      await Promise.all(sessions.map((session) => session.release()));
    },
  };
}
