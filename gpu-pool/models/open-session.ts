import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from './manifest.ts';

/** Whether this machine can run one execution provider, and the sentence that says why. */
export interface ProviderAvailability {
  provider: ExecutionProvider;
  available: boolean;
  reason: string;
}

/**
 * Finds out which execution providers this machine can offer. CPU always can. CUDA can only
 * when this onnxruntime-node build has a CUDA backend and its provider libraries are present
 * beside the binding; whether a GPU and driver answer is only known when a session opens, so
 * `openSession` still falls back if CUDA fails there.
 */
export function detectExecutionProviders(): ProviderAvailability[] {
  return [
    { provider: 'cuda', ...detectCuda() },
    { provider: 'cpu', available: true, reason: 'the CPU provider is built into onnxruntime' },
  ];
}

/**
 * Availability as the caller declares it, for a pool that already knows what its machine has.
 * A provider declared available that then fails still falls back in `openSession`.
 */
export function declaredAvailability(available: ExecutionProvider[]): ProviderAvailability[] {
  return EXECUTION_PROVIDERS.map((provider) =>
    available.includes(provider)
      ? { provider, available: true, reason: `${provider} was declared available` }
      : { provider, available: false, reason: `${provider} was declared unavailable` },
  );
}

function detectCuda(): { available: boolean; reason: string } {
  // Older onnxruntime-node releases have no listSupportedBackends; trying a session tells then.
  const list = (ort as { listSupportedBackends?: () => { name: string; bundled: boolean }[] })
    .listSupportedBackends;
  if (typeof list !== 'function') {
    return { available: true, reason: 'onnxruntime-node cannot list its backends; trying CUDA' };
  }

  const cuda = list().find((backend) => backend.name === 'cuda');
  if (cuda === undefined) {
    return {
      available: false,
      reason: 'CUDA is not available on this machine: this onnxruntime-node build has no CUDA',
    };
  }
  if (cuda.bundled) return { available: true, reason: 'onnxruntime-node bundles CUDA' };

  // Limitation: this knows onnxruntime-node 1.x's layout, where its install script drops the
  // CUDA provider libraries beside the binding; another layout reads as "not installed".
  const missing = cudaProviderLibraries().filter((path) => !existsSync(path));
  if (missing.length > 0) {
    return {
      available: false,
      reason:
        "CUDA is not available on this machine: onnxruntime-node's CUDA provider libraries " +
        'are not installed',
    };
  }
  return { available: true, reason: "onnxruntime-node's CUDA provider libraries are installed" };
}

function cudaProviderLibraries(): string[] {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const binDir = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const names =
    process.platform === 'win32'
      ? ['onnxruntime_providers_shared.dll', 'onnxruntime_providers_cuda.dll']
      : ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
  return names.map((name) => join(binDir, name));
}

/** A session that opened, the provider it runs on first and why that one. */
export interface OpenedSession {
  ok: true;
  session: ort.InferenceSession;
  provider: ExecutionProvider;
  /** Why this provider: the first choice, or why each earlier choice was passed over. */
  reason: string;
  /** True when an earlier provider was reported available but failed to open the model. */
  fellBackAfterFailure: boolean;
}

/** Why no provider could open the model, as a sentence for `GET /v1/models` and the log. */
export interface SessionFailure {
  ok: false;
  reason: string;
}

/**
 * Opens `modelPath` on the first provider in `wanted` that `availability` offers and that
 * opens the model, falling back in order. Never throws: when none opens it, such as for a
 * corrupt file or a list of providers this machine lacks, the result says why.
 */
export async function openSession(
  modelPath: string,
  wanted: ExecutionProvider[],
  availability: ProviderAvailability[],
): Promise<OpenedSession | SessionFailure> {
  const passedOver: string[] = [];
  const failures: string[] = [];

  for (const [index, provider] of wanted.entries()) {
    const offer = availability.find((entry) => entry.provider === provider);
    if (!offer?.available) {
      passedOver.push(offer?.reason ?? `${provider} is not offered on this machine`);
      continue;
    }

    // Later available providers stay in the list so onnxruntime can place the operators the
    // first one lacks; CPU placement of the odd node is normal with CUDA.
    const providers = wanted
      .slice(index)
      .filter((p) => availability.some((entry) => entry.provider === p && entry.available));
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: providers,
        graphOptimizationLevel: 'all',
      });
      const reason =
        passedOver.length === 0 ? `${provider} is its first choice` : passedOver.join('; ');
      return { ok: true, session, provider, reason, fellBackAfterFailure: failures.length > 0 };
    } catch (error) {
      const message = (error as Error).message;
      passedOver.push(`${provider} failed to open the model: ${message}`);
      failures.push(`${provider} said: ${message}`);
    }
  }

  if (failures.length > 0) {
    return {
      ok: false,
      reason: `model file ${basename(modelPath)} cannot be opened: ${failures.join('; ')}`,
    };
  }
  return {
    ok: false,
    reason: `none of its execution providers can run here: ${passedOver.join('; ')}`,
  };
}
