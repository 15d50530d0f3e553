import type { ModelRepository } from './models/model-repository.ts';
import type { ModelProvider } from './pool-model.ts';

/**
 * Serves the pool its models from the repository: a model's batch is the largest of its
 * preferred batch sizes that `batchSizeLimit` (BATCH_SIZE_LIMIT) allows.
 */
export function repositoryModels(
  repository: ModelRepository,
  batchSizeLimit: number,
): ModelProvider {
  return {
    get(name) {
      const model = repository.get(name);
      if (!model) return undefined;

      const allowed = model.manifest.preferredBatchSizes.filter((size) => size <= batchSizeLimit);
      return {
        instance: model,
        batchSize: allowed.at(-1) ?? 1,
        maxQueueDelayMs: model.manifest.maxQueueDelayMs,
      };
    },
  };
}
