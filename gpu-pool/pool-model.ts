/** A model as the pool batches it: the loaded instance and its batching settings. */
export interface PoolModel {
  /** Passed to the handler as `context.model`. */
  instance: unknown;
  /** The largest batch the pool forms for it (the manifest's, capped by BATCH_SIZE_LIMIT). */
  batchSize: number;
  /** How long the first job of a batch may wait for others before the batch runs anyway. */
  maxQueueDelayMs: number;
}

/** Where the pool finds models by name; undefined means not ready, so its jobs wait. */
export interface ModelProvider {
  get(name: string): PoolModel | undefined;
}

/** A provider without models, for pools that run only model-free job types. */
export const NO_MODELS: ModelProvider = { get: () => undefined };
