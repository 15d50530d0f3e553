import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import type { KubeClients } from './kube-clients.ts';
import { REVISION_ANNOTATION } from './rollout-status.ts';

/** The label the Deployment controller puts on a ReplicaSet and its pods, per template. */
export const POD_TEMPLATE_HASH = 'pod-template-hash';

/** `k=v,k2=v2` for a Deployment's `matchLabels` (the manifests use no expressions). */
export function labelSelectorOf(deployment: V1Deployment): string {
  const labels = deployment.spec?.selector.matchLabels ?? {};
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** The revision number an object carries in its annotation, or 0 when it has none. */
export function revisionOf(object: V1Deployment | V1ReplicaSet): number {
  const value = Number(object.metadata?.annotations?.[REVISION_ANNOTATION]);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * The ReplicaSets the Deployment controls, as `kubectl rollout history` finds them: listed by
 * the Deployment's selector and kept only when their controller owner is this Deployment.
 */
export async function ownedReplicaSets(
  clients: KubeClients,
  deployment: V1Deployment,
): Promise<V1ReplicaSet[]> {
  const namespace = deployment.metadata?.namespace ?? 'default';
  const list = await clients.apps.listNamespacedReplicaSet({
    namespace,
    labelSelector: labelSelectorOf(deployment),
  });
  return list.items.filter((rs) =>
    rs.metadata?.ownerReferences?.some(
      (owner) => owner.controller === true && owner.uid === deployment.metadata?.uid,
    ),
  );
}
