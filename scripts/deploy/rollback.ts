import {
  dumpYaml,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1PodTemplateSpec,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { stableJson } from './apply-objects.ts';
import type { KubeClients } from './kube-clients.ts';
import { describeApiError } from './kube-clients.ts';
import { ownedReplicaSets, POD_TEMPLATE_HASH, revisionOf } from './replica-sets.ts';
import { REVISION_ANNOTATION } from './rollout-status.ts';

/** Annotations a rollback leaves as the Deployment has them, as `kubectl rollout undo` does. */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

/** The field manager the rollback's patch is recorded under. */
export const ROLLBACK_FIELD_MANAGER = 'kai-deploy-rollback';

/** A rollback that could not be made; the message says why. */
export class RollbackError extends Error {}

/** What a rollback did. */
export interface RollbackResult {
  /** The revision whose template the Deployment runs again. */
  revision: number;
  /** True when the Deployment already ran that template, so nothing was patched. */
  skipped: boolean;
  images: string[];
}

/**
 * Rolls a Deployment back the way `kubectl rollout undo` does: finds the ReplicaSet of
 * `toRevision` (or of the revision before the current one) among those the Deployment owns,
 * and patches the Deployment's pod template back to that ReplicaSet's (without its
 * pod-template-hash label), with its annotations. The controller then rolls out that template
 * as a new revision, from ReplicaSets it kept (`revisionHistoryLimit`).
 */
export async function rollbackDeployment(
  clients: KubeClients,
  target: { namespace: string; name: string },
  options: { toRevision?: number | undefined } = {},
): Promise<RollbackResult> {
  const deployment = await clients.apps.readNamespacedDeployment(target);
  if (deployment.spec?.paused) {
    throw new RollbackError(`${target.name} is paused; resume it before rolling back.`);
  }

  const replicaSets = await ownedReplicaSets(clients, deployment);
  const current = Math.max(0, ...replicaSets.map(revisionOf));
  const wanted =
    options.toRevision ?? Math.max(0, ...replicaSets.map(revisionOf).filter((r) => r < current));
  const source = replicaSets.find((rs) => revisionOf(rs) === wanted);
  if (wanted === 0 || !source?.spec?.template) {
    throw new RollbackError(
      `${target.name} has no revision ${wanted || `before ${current}`} to roll back to ` +
        `(revisions kept: ${replicaSets.map(revisionOf).sort().join(', ') || 'none'}).`,
    );
  }

  const template = apiJson(source.spec.template);
  if (template.metadata?.labels) delete template.metadata.labels[POD_TEMPLATE_HASH];
  const images = (template.spec?.containers ?? []).map((c) => c.image ?? '');
  if (stableJson(template) === stableJson(apiJson(deployment.spec?.template ?? {}))) {
    return { revision: wanted, skipped: true, images };
  }

  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployment.metadata?.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  }
  for (const [key, value] of Object.entries(source.metadata?.annotations ?? {})) {
    if (!ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  }

  try {
    await clients.apps.patchNamespacedDeployment(
      {
        ...target,
        fieldManager: ROLLBACK_FIELD_MANAGER,
        body: [
          { op: 'replace', path: '/spec/template', value: template },
          { op: 'replace', path: '/metadata/annotations', value: annotations },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  } catch (error) {
    throw new RollbackError(
      `Rolling ${target.name} back to revision ${wanted} failed: ${describeApiError(error)}.`,
      { cause: error },
    );
  }
  return { revision: wanted, skipped: false, images };
}

/**
 * A pod template as the API writes it. client-node's models name some fields otherwise than
 * the API (`_from` for `from`); its serializer, reached through a Deployment, renames them back.
 */
function apiJson(template: V1PodTemplateSpec): V1PodTemplateSpec {
  const wrapper: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    spec: { selector: {}, template },
  };
  return (parseYaml(dumpYaml(wrapper)) as V1Deployment).spec?.template ?? {};
}
