import { DEFAULTS } from '../config/defaults.ts';
import type { Env } from '../config/schema.ts';

/** The registry's settings, from PARAM_REGISTRY_ENABLED and friends. */
export interface RegistrySettings {
  enabled: boolean;
  /** PARAM_HISTORY_RETENTION_DAYS, for `pruneParameterHistory`. */
  retentionDays: number;
  defaultSet: string;
  similarityThreshold: number;
}

/** Kai's defaults, for an app built without configuration (tests, embedded use). */
export const DEFAULT_REGISTRY_SETTINGS: RegistrySettings = {
  enabled: DEFAULTS.PARAM_REGISTRY_ENABLED,
  retentionDays: DEFAULTS.PARAM_HISTORY_RETENTION_DAYS,
  defaultSet: DEFAULTS.DEFAULT_PARAMETER_SET,
  similarityThreshold: DEFAULTS.SIMILARITY_THRESHOLD,
};

/** The registry settings of a parsed environment (`envSchema`). */
export function registrySettingsOf(env: Env): RegistrySettings {
  return {
    enabled: env.PARAM_REGISTRY_ENABLED,
    retentionDays: env.PARAM_HISTORY_RETENTION_DAYS,
    defaultSet: env.DEFAULT_PARAMETER_SET,
    similarityThreshold: env.SIMILARITY_THRESHOLD,
  };
}
