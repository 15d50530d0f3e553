import type { PoolModelReport } from '../../core/jobs/model-status.ts';
import type { ModelRepository } from './model-repository.ts';

/** The repository's models as a pool reports them for `GET /v1/models`. */
export function modelReportsOf(repository: ModelRepository): PoolModelReport[] {
  return repository.models().map((m) => ({
    name: m.name,
    version: m.version,
    versions: m.versions,
    ready: m.ready,
    reason: m.reason,
    provider: m.provider,
    description: m.description,
    synthetic: m.manifest?.synthetic === true,
  }));
}
