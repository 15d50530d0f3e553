import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import type { Logger } from '../../core/logging/logger.ts';
import { type InferenceThread, openInferenceThread } from './inference-thread.ts';
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

/**
 * A model that is ready to serve: its manifest and a way to run it. Its graphs run on an
 * inference thread of their own (see `openInferenceThread`), never on the pool's event loop.
 */
export interface LoadedModel {
  name: string;
  version: string;
  manifest: ModelManifest;
  provider: ExecutionProvider;
  /** Runs the model on `feeds`, keyed by the manifest's input names. */
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
  const loaded = new Map<string, ThreadedVersion>();

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
    const thread = await moveToThread(result.loaded);
    if (!thread.ok) {
      const reason = thread.reason;
      logger.warn({ model: name, version, reason }, `${name} is not ready: ${reason}`);
      statuses.push({ name, version, versions, ready: false, reason, description: '' });
      continue;
    }
    loaded.set(name, { ...result.loaded, thread: thread.thread });
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

/** A loaded version whose graphs now run on their own thread. */
type ThreadedVersion = LoadedVersion & { thread: InferenceThread };

/**
 * Opens the version's graphs again on an inference thread, on the provider that opened them
 * here, then releases the sessions that served to check them against the manifest, so the
 * weights are held once (on a GPU that matters).
 */
async function moveToThread(
  version: LoadedVersion,
): Promise<{ ok: true; thread: InferenceThread } | { ok: false; reason: string }> {
  const graphs: Record<string, string> = { main: join(version.dir, version.manifest.file) };
  for (const companion of version.manifest.companions ?? []) {
    graphs[companion.role] = join(version.dir, companion.file);
  }
  const providers = version.manifest.executionProviders.slice(
    version.manifest.executionProviders.indexOf(version.provider),
  );

  try {
    const thread = await openInferenceThread({ graphs, executionProviders: providers });
    return { ok: true, thread };
  } catch (error) {
    return {
      ok: false,
      reason: `its inference thread failed to open: ${(error as Error).message}`,
    };
  } finally {
    await Promise.all(
      [version.session, ...version.companions.values()].map((session) => session.release()),
    );
  }
}

function createRepository(
  statuses: ModelStatus[],
  loaded: Map<string, ThreadedVersion>,
): ModelRepository {
  let closed = false;

  const models = new Map<string, LoadedModel>();
  for (const [name, entry] of loaded) {
    models.set(name, {
      name: entry.name,
      version: entry.version,
      manifest: entry.manifest,
      provider: entry.provider,
      async run(feeds) {
        if (closed) throw new Error(`Model ${name} cannot run: its repository was closed.`);
        return entry.thread.run('main', feeds);
      },
      async runCompanion(role, feeds) {
        if (closed) throw new Error(`Model ${name} cannot run: its repository was closed.`);
        if (!entry.companions.has(role)) {
          throw new Error(`Model ${name} has no companion graph ${role}.`);
        }
        return entry.thread.run(role, feeds);
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
      await Promise.all([...loaded.values()].map((entry) => entry.thread.close()));
    },
  };
}
