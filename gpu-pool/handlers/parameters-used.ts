import type { ResolvedParameters } from '../../core/registry/resolve-parameters.ts';

/**
 * What a job's result says of the registry set it ran with: which version exactly (so a study
 * or a user can trace the result to it), the values the handler applied and those it did not.
 */
export interface ParametersUsed {
  material: string;
  task: string;
  set: string;
  version: number;
  versionId: string;
  /** The set's values that changed how the job ran. */
  applied: Record<string, unknown>;
  /** The set's values that changed nothing, each with the reason. */
  ignored: Record<string, string>;
}

/** The record of `parameters` for a result; `applied` and `ignored` as the handler decided. */
export function parametersUsed(
  parameters: ResolvedParameters,
  applied: Record<string, unknown>,
  ignored: Record<string, string> = {},
): ParametersUsed {
  return {
    material: parameters.material,
    task: parameters.task,
    set: parameters.set,
    version: parameters.version,
    versionId: parameters.versionId,
    applied,
    ignored,
  };
}
