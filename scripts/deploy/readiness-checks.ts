import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from './kube-clients.ts';

/** The health checks after a rollout, as the operators' guide has them: 12 at 10 s, 3 may fail. */
export interface ReadinessCheckOptions {
  checks: number;
  intervalMs: number;
  /** More failing checks than this fail the deploy. */
  maxFailures: number;
}

/** The operators' guide: "more than 3 of 12 checks at 10 s intervals failing" rolls back. */
export const REFERENCE_CHECKS: ReadinessCheckOptions = {
  checks: 12,
  intervalMs: 10_000,
  maxFailures: 3,
};

/** The outcome of the checks, with why each failing one failed. */
export interface ReadinessResult {
  passed: boolean;
  failures: string[];
  checksRun: number;
}

/**
 * Checks the pool's readiness after a rollout, `checks` times `intervalMs` apart: a check
 * passes when the pods of the Deployment's current ReplicaSet are all Ready (their `/readyz`
 * probe passes in the kubelet) and none has restarted since the first check (a failing
 * `/healthz` liveness probe or a crash). Stops early once more than `maxFailures` failed.
 */
export async function checkPoolReadiness(
  clients: KubeClients,
  target: { namespace: string; labelSelector: string },
  options: ReadinessCheckOptions,
  onCheck?: (check: number, failure: string | undefined) => void,
): Promise<ReadinessResult> {
  const failures: string[] = [];
  const firstRestarts = new Map<string, number>();
  let checksRun = 0;

  for (let check = 1; check <= options.checks; check++) {
    if (check > 1) await sleep(options.intervalMs);
    checksRun = check;

    const pods = await clients.core.listNamespacedPod({
      namespace: target.namespace,
      labelSelector: target.labelSelector,
    });
    const failure = podsFailure(pods.items, firstRestarts);
    onCheck?.(check, failure);
    if (failure) failures.push(`check ${check}: ${failure}`);
    if (failures.length > options.maxFailures) break;
  }

  return { passed: failures.length <= options.maxFailures, failures, checksRun };
}

/** Why these pods fail a check, or undefined when they pass. */
function podsFailure(pods: V1Pod[], firstRestarts: Map<string, number>): string | undefined {
  if (pods.length === 0) return 'no pod of the current revision exists';

  const problems: string[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '?';
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const restarts = (pod.status?.containerStatuses ?? []).reduce(
      (sum, c) => sum + c.restartCount,
      0,
    );
    if (!firstRestarts.has(name)) firstRestarts.set(name, restarts);

    if (!ready) problems.push(`${name} is not ready`);
    const since = restarts - (firstRestarts.get(name) ?? restarts);
    if (since > 0) problems.push(`${name} restarted ${since} times`);
  }
  return problems.length > 0 ? problems.join(', ') : undefined;
}
