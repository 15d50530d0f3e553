import type { V1Deployment } from '@kubernetes/client-node';
import type { Logger } from '../../core/logging/logger.ts';
import { type AppliedObject, applyObjects } from './apply-objects.ts';
import { isNotFound, type KubeClients } from './kube-clients.ts';
import { checkPoolReadiness, type ReadinessCheckOptions } from './readiness-checks.ts';
import { type ManifestObject, renderOverlay } from './render-overlay.ts';
import {
  labelSelectorOf,
  ownedReplicaSets,
  POD_TEMPLATE_HASH,
  revisionOf,
} from './replica-sets.ts';
import { rollbackDeployment } from './rollback.ts';
import { type RolloutState, waitForRollout } from './rollout-status.ts';

/** The Deployment whose rollout a deploy waits for and rolls back. */
export const POOL_DEPLOYMENT = 'kai-gpu-pool';
const POOL_CONTAINER = 'gpu-pool';

/** What `npm run deploy` is asked to do. */
export interface DeployOptions {
  /** A kustomize directory, such as k8s/overlays/production. */
  overlayDir: string;
  /** An image for the pool's container instead of the overlay's, such as `…/kai-gpu-pool:<sha>`. */
  image?: string | undefined;
  dryRun: boolean;
  rolloutTimeoutMs: number;
  pollIntervalMs: number;
  checks: ReadinessCheckOptions;
}

/** How a deploy ended. Anything but `deployed` and `planned` is a failed deploy. */
export type DeployOutcome =
  | { outcome: 'planned'; applied: AppliedObject[] }
  | { outcome: 'deployed'; applied: AppliedObject[]; revision: number }
  | {
      outcome: 'rolled-back';
      applied: AppliedObject[];
      reason: string;
      toRevision: number;
      rollbackRollout: RolloutState;
    }
  | { outcome: 'failed'; applied: AppliedObject[]; reason: string };

/**
 * Deploys an overlay: renders it, server-side applies every object, waits for the pool's
 * rollout within `rolloutTimeoutMs`, then checks the pool's readiness (`checks`). When either
 * fails after the pool's template changed, rolls the pool back to the revision it ran before
 * and waits for that rollout too. A dry run renders and applies with the server's dry run
 * only, and returns the plan.
 */
export async function runDeploy(
  clients: KubeClients,
  options: DeployOptions,
  logger: Logger,
): Promise<DeployOutcome> {
  const objects = await renderOverlay(options.overlayDir);
  const pool = poolDeployment(objects);
  if (options.image) setPoolImage(pool, options.image);
  const target = { namespace: pool.metadata.namespace ?? 'default', name: POOL_DEPLOYMENT };
  const log = logger.child({ deployment: `${target.namespace}/${target.name}` });

  // Step 1: what runs now, to know whether the apply changes the pool and where to go back to.
  const before = await readDeployment(clients, target);
  log.info(
    { server: clients.server, objects: objects.length, revision: before && revisionOf(before) },
    options.dryRun ? 'planning deploy (server-side dry run)' : 'deploying',
  );

  // Step 2: apply. A dry run stops here with the plan.
  const applied = await applyObjects(clients, objects, { dryRun: options.dryRun });
  for (const result of applied) {
    log.info({ action: result.action }, `${result.action} ${result.ref}`);
  }
  if (options.dryRun) return { outcome: 'planned', applied };

  const after = await clients.apps.readNamespacedDeployment(target);
  const templateChanged =
    before === null || after.metadata?.generation !== before.metadata?.generation;

  // Step 3: the rollout, then the pool's readiness over the checks.
  const rollout = await waitForRollout(clients, target, {
    timeoutMs: options.rolloutTimeoutMs,
    pollIntervalMs: options.pollIntervalMs,
    onChange: (state) => log.info({ state: state.state }, state.message),
  });
  let failure: string | undefined;
  let revision = 0;
  if (rollout.state !== 'done') {
    failure = `the rollout did not finish: ${rollout.message}`;
  } else {
    const current = await currentRevision(clients, target);
    revision = current.revision;
    const readiness = await checkPoolReadiness(
      clients,
      { namespace: target.namespace, labelSelector: current.podSelector },
      options.checks,
      (check, why) => log.info({ check, passed: !why, why }, 'readiness check'),
    );
    if (!readiness.passed) {
      failure =
        `${readiness.failures.length} of ${readiness.checksRun} readiness checks failed ` +
        `(at most ${options.checks.maxFailures} may): ${readiness.failures.join('; ')}`;
    }
  }
  if (!failure) {
    log.info({ revision }, 'deployed');
    return { outcome: 'deployed', applied, revision };
  }

  // Step 4: roll back, where there is something to go back to.
  log.error({ reason: failure }, 'deploy failed');
  if (before === null || !templateChanged) {
    const why = before === null ? 'it is the first deploy' : 'the pool template did not change';
    return { outcome: 'failed', applied, reason: `${failure}; no rollback: ${why}` };
  }
  const toRevision = revisionOf(before);
  const rolledBack = await rollbackDeployment(clients, target, { toRevision });
  log.warn({ toRevision, images: rolledBack.images }, 'rolled back; waiting for its rollout');
  const rollbackRollout = await waitForRollout(clients, target, {
    timeoutMs: options.rolloutTimeoutMs,
    pollIntervalMs: options.pollIntervalMs,
    onChange: (state) => log.info({ state: state.state, rollback: true }, state.message),
  });
  return { outcome: 'rolled-back', applied, reason: failure, toRevision, rollbackRollout };
}

function poolDeployment(objects: ManifestObject[]): ManifestObject {
  const pool = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === POOL_DEPLOYMENT);
  if (!pool) throw new Error(`The overlay renders no Deployment ${POOL_DEPLOYMENT}.`);
  return pool;
}

function setPoolImage(pool: ManifestObject, image: string): void {
  const spec = pool.spec as {
    template: { spec: { containers: { name: string; image: string }[] } };
  };
  const container = spec.template.spec.containers.find((c) => c.name === POOL_CONTAINER);
  if (!container) throw new Error(`${POOL_DEPLOYMENT} has no container ${POOL_CONTAINER}.`);
  container.image = image;
}

async function readDeployment(
  clients: KubeClients,
  target: { namespace: string; name: string },
): Promise<V1Deployment | null> {
  try {
    return await clients.apps.readNamespacedDeployment(target);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** The Deployment's current revision and the selector of that revision's pods only. */
async function currentRevision(
  clients: KubeClients,
  target: { namespace: string; name: string },
): Promise<{ revision: number; podSelector: string }> {
  const deployment = await clients.apps.readNamespacedDeployment(target);
  const revision = revisionOf(deployment);
  const replicaSet = (await ownedReplicaSets(clients, deployment)).find(
    (rs) => revisionOf(rs) === revision,
  );
  const hash = replicaSet?.metadata?.labels?.[POD_TEMPLATE_HASH];
  const selector = labelSelectorOf(deployment);
  return { revision, podSelector: hash ? `${selector},${POD_TEMPLATE_HASH}=${hash}` : selector };
}
