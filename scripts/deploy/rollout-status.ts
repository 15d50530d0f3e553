import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Deployment } from '@kubernetes/client-node';
import type { KubeClients } from './kube-clients.ts';

/** Where a Deployment's rollout stands, in the terms `kubectl rollout status` uses. */
export type RolloutState =
  | { state: 'done'; message: string }
  | { state: 'waiting'; message: string }
  | { state: 'failed'; message: string };

/** The annotation the Deployment controller numbers revisions with, on Deployments and ReplicaSets. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/**
 * Reads a Deployment's status as `kubectl rollout status` does: done once the controller has
 * observed the latest spec and every replica is updated and available with no old one left;
 * failed when the controller reports ProgressDeadlineExceeded.
 */
export function rolloutState(deployment: V1Deployment): RolloutState {
  const name = deployment.metadata?.name ?? 'deployment';
  const generation = deployment.metadata?.generation ?? 0;
  const status = deployment.status ?? {};
  const wanted = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;

  if ((status.observedGeneration ?? 0) < generation) {
    return { state: 'waiting', message: `waiting for ${name}'s new spec to be observed` };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { state: 'failed', message: `${name} exceeded its progress deadline` };
  }
  if (updated < wanted) {
    return { state: 'waiting', message: `${updated} of ${wanted} updated replicas of ${name}` };
  }
  if (replicas > updated) {
    return {
      state: 'waiting',
      message: `${replicas - updated} old replicas of ${name} are pending termination`,
    };
  }
  if (available < updated) {
    return {
      state: 'waiting',
      message: `${available} of ${updated} updated replicas of ${name} are available`,
    };
  }
  return { state: 'done', message: `${name} rolled out: ${available} replicas available` };
}

/**
 * Polls the Deployment's status until its rollout is done, fails or `timeoutMs` passes, and
 * resolves with the last state seen (`waiting` means it timed out). `onChange` hears each new
 * message, for the operator's log.
 */
export async function waitForRollout(
  clients: KubeClients,
  target: { namespace: string; name: string },
  options: { timeoutMs: number; pollIntervalMs: number; onChange?: (state: RolloutState) => void },
): Promise<RolloutState> {
  const deadline = Date.now() + options.timeoutMs;
  let last: RolloutState | undefined;

  for (;;) {
    const deployment = await clients.apps.readNamespacedDeploymentStatus(target);
    const state = rolloutState(deployment);
    if (state.message !== last?.message) options.onChange?.(state);
    last = state;

    if (state.state !== 'waiting') return state;
    if (Date.now() + options.pollIntervalMs > deadline) {
      return {
        state: 'waiting',
        message: `timed out after ${options.timeoutMs} ms: ${state.message}`,
      };
    }
    await sleep(options.pollIntervalMs);
  }
}
