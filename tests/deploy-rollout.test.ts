// `npm run deploy` (scripts/deploy.ts, run as the operator runs it) against a fake Kubernetes
// API server on 127.0.0.1 that speaks the real REST contract: a first deploy, a good rollout,
// a rollout that times out and one whose readiness checks fail (both rolled back the way
// `kubectl rollout undo` does), a first deploy that cannot be rolled back, and a cluster
// without KEDA.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderOverlay } from '../scripts/deploy/render-overlay.ts';
import { type FakeKubernetes, startFakeKubernetes } from './helpers/fake-kubernetes-api.ts';
import { REPO_ROOT } from './helpers/migrations-dir.ts';

const NS = 'kai-system-staging';
const DEPLOYMENT = `/apis/apps/v1/namespaces/${NS}/deployments/kai-gpu-pool`;
const IMAGE = 'ghcr.io/kai-project/kai-gpu-pool';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node scripts/deploy.ts` against `cluster` with quick timings (a later flag overrides
 * these); resolves whatever the exit code.
 */
function deploy(cluster: FakeKubernetes, args: string[]): Promise<Run> {
  const argv = [
    join(REPO_ROOT, 'scripts', 'deploy.ts'),
    '--kubeconfig',
    cluster.kubeconfigPath,
    '--poll-interval-ms',
    '20',
    '--rollout-timeout-ms',
    '10000',
    '--check-interval-ms',
    '10',
    ...args,
  ];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      argv,
      { cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'warn' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const said = (run: Run) => `exit ${run.code}\n${run.stdout}\n${run.stderr}`;

function imageNow(cluster: FakeKubernetes): string {
  return cluster.object(DEPLOYMENT)?.spec.template.spec.containers[0].image;
}

function revisionNow(cluster: FakeKubernetes): string {
  return cluster.object(DEPLOYMENT)?.metadata.annotations['deployment.kubernetes.io/revision'];
}

describe('npm run deploy on a cluster with KEDA', () => {
  let cluster: FakeKubernetes;

  beforeAll(async () => {
    cluster = await startFakeKubernetes({ keda: true });
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('prints the plan in a dry run and changes nothing', async () => {
    const run = await deploy(cluster, ['--env', 'staging', '--dry-run']);

    expect(run.code, said(run)).toBe(0);
    expect(run.stdout).toContain('Plan (server-side dry run, nothing changed):');
    expect(run.stdout).toMatch(/create\s+Namespace kai-system-staging/);
    expect(run.stdout).toMatch(/create\s+Deployment kai-system-staging\/kai-gpu-pool/);
    expect(run.stdout).toMatch(/create\s+ScaledObject kai-system-staging\/kai-gpu-pool/);
    // On a new cluster only the Namespace can be dry-run: the server refuses objects in a
    // namespace that does not exist, and a dry run creates none.
    expect(run.stdout).toContain('(not checked by the server: its namespace is new)');
    const applies = cluster.requests.filter((r) => r.method === 'PATCH');
    expect(applies.map((r) => r.path)).toEqual([`/api/v1/namespaces/${NS}`]);
    expect(applies.every((r) => r.query.get('dryRun') === 'All')).toBe(true);
    expect(cluster.object(DEPLOYMENT)).toBeUndefined();
  });

  it('applies every rendered object with server-side apply and waits for the rollout', async () => {
    const start = cluster.requests.length;
    const run = await deploy(cluster, ['--env', 'staging', '--image', `${IMAGE}:1.0.0`]);

    expect(run.code, said(run)).toBe(0);
    expect(run.stdout).toContain('Deployed revision 1:');

    // Exactly what kustomize rendered (with the image set), as apply-patch+yaml, force, owned by
    // kai-deploy: nothing dropped or added on the way.
    const rendered = await renderOverlay(join(REPO_ROOT, 'k8s', 'overlays', 'staging'));
    // biome-ignore lint/suspicious/noExplicitAny: one field of the rendered Deployment is set
    const pool: any = rendered.find((o) => o.kind === 'Deployment');
    pool.spec.template.spec.containers[0].image = `${IMAGE}:1.0.0`;
    const applies = cluster.requests.slice(start).filter((r) => r.method === 'PATCH');
    expect(applies.map((r) => r.body)).toEqual(rendered);
    for (const request of applies) {
      expect(request.contentType).toBe('application/apply-patch+yaml');
      expect(request.query.get('fieldManager')).toBe('kai-deploy');
      expect(request.query.get('force')).toBe('true');
      expect(request.query.get('dryRun')).toBeNull();
    }
    expect(applies[0]?.path).toBe(`/api/v1/namespaces/${NS}`);
    expect(cluster.requests.slice(start).map((r) => r.path)).toContain(`${DEPLOYMENT}/status`);
    expect(imageNow(cluster)).toBe(`${IMAGE}:1.0.0`);

    // The readiness checks read the pods of the new revision only.
    const podLists = cluster.requests
      .slice(start)
      .filter((r) => r.path === `/api/v1/namespaces/${NS}/pods`);
    expect(podLists).toHaveLength(12);
    expect(podLists[0]?.query.get('labelSelector')).toMatch(
      /^app\.kubernetes\.io\/name=kai-gpu-pool,pod-template-hash=[0-9a-f]{10}$/,
    );
  });

  it('rolls out a new image as the next revision and leaves the replicas to the autoscaler', async () => {
    cluster.setReplicas(DEPLOYMENT, 3);
    const run = await deploy(cluster, ['--env', 'staging', '--image', `${IMAGE}:1.1.0`]);

    expect(run.code, said(run)).toBe(0);
    expect(run.stdout).toContain('Deployed revision 2:');
    expect(imageNow(cluster)).toBe(`${IMAGE}:1.1.0`);
    expect(cluster.object(DEPLOYMENT)?.spec.replicas).toBe(3);
  });

  it('rolls back to the revision that ran before when the rollout times out', async () => {
    const templateBefore = structuredClone(cluster.object(DEPLOYMENT)?.spec.template);
    const start = cluster.requests.length;
    const run = await deploy(cluster, [
      ...['--env', 'staging', '--image', `${IMAGE}:broken`],
      ...['--rollout-timeout-ms', '1500'],
    ]);

    expect(run.code, said(run)).toBe(1);
    expect(run.stdout).toContain('Deploy failed: the rollout did not finish: timed out after 1500');
    expect(run.stdout).toContain('Rolled back to revision 2: kai-gpu-pool rolled out');
    expect(imageNow(cluster)).toBe(`${IMAGE}:1.1.0`);
    expect(cluster.object(DEPLOYMENT)?.spec.template).toEqual(templateBefore);
    // The controller gives the old template the next number, as a real cluster does.
    expect(revisionNow(cluster)).toBe('4');

    const requests = cluster.requests.slice(start);
    const list = requests.find((r) => r.path === `/apis/apps/v1/namespaces/${NS}/replicasets`);
    expect(list?.query.get('labelSelector')).toBe('app.kubernetes.io/name=kai-gpu-pool');
    const patch = requests.find((r) => r.contentType === 'application/json-patch+json');
    expect(patch?.path).toBe(DEPLOYMENT);
    expect(patch?.query.get('fieldManager')).toBe('kai-deploy-rollback');
    const ops = patch?.body as { op: string; path: string; value: never }[];
    expect(ops.map((op) => [op.op, op.path])).toEqual([
      ['replace', '/spec/template'],
      ['replace', '/metadata/annotations'],
    ]);
    const template = ops[0]?.value as unknown as { metadata: { labels: Record<string, string> } };
    expect(template.metadata.labels['pod-template-hash']).toBeUndefined();
  });

  it('rolls back when more than 3 of the readiness checks fail after the rollout', async () => {
    const run = await deploy(cluster, ['--env', 'staging', '--image', `${IMAGE}:flaky`]);

    expect(run.code, said(run)).toBe(1);
    expect(run.stdout).toMatch(/Deploy failed: 4 of 5 readiness checks failed \(at most 3 may\)/);
    expect(run.stdout).toContain('is not ready');
    expect(run.stdout).toContain('Rolled back to revision 4');
    expect(imageNow(cluster)).toBe(`${IMAGE}:1.1.0`);
  });

  it('rolls back as soon as the Deployment reports ProgressDeadlineExceeded', async () => {
    const started = Date.now();
    const run = await deploy(cluster, [
      '--env',
      'staging',
      '--image',
      `${IMAGE}:stalled`,
      '--rollout-timeout-ms',
      '60000',
    ]);

    expect(run.code, said(run)).toBe(1);
    expect(run.stdout).toContain('kai-gpu-pool exceeded its progress deadline');
    expect(run.stdout).toContain('Rolled back to revision');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(imageNow(cluster)).toBe(`${IMAGE}:1.1.0`);
  });

  it('plans an image change as an update of the Deployment only', async () => {
    const start = cluster.requests.length;
    const run = await deploy(cluster, [
      '--env',
      'staging',
      '--image',
      `${IMAGE}:1.2.0`,
      '--dry-run',
    ]);

    expect(run.code, said(run)).toBe(0);
    expect(run.stdout).toMatch(/update\s+Deployment kai-system-staging\/kai-gpu-pool/);
    expect(run.stdout).toMatch(/unchanged\s+Service kai-system-staging\/kai-gpu-pool-metrics/);
    expect(run.stdout).toMatch(/unchanged\s+ScaledObject kai-system-staging\/kai-gpu-pool/);
    expect(run.stdout).not.toMatch(/create\s/);
    expect(imageNow(cluster)).toBe(`${IMAGE}:1.1.0`);
    const writes = cluster.requests.slice(start).filter((r) => r.method === 'PATCH');
    expect(writes.every((r) => r.query.get('dryRun') === 'All')).toBe(true);
  });

  it('reports a redeploy of what runs as unchanged', async () => {
    const run = await deploy(cluster, [
      '--env',
      'staging',
      '--image',
      `${IMAGE}:1.1.0`,
      '--checks',
      '1',
    ]);
    expect(run.code, said(run)).toBe(0);
    expect(run.stdout).toMatch(/unchanged\s+Deployment kai-system-staging\/kai-gpu-pool/);
  });

  it('refuses a wrong command line with the usage', async () => {
    const run = await deploy(cluster, ['--env', 'staging', '--overlay', 'k8s/overlays/staging']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('give either --env or --overlay');
    expect(run.stderr).toContain('Usage: npm run deploy');
  });
});

describe('npm run deploy on a new cluster', () => {
  let cluster: FakeKubernetes;

  beforeAll(async () => {
    cluster = await startFakeKubernetes({ keda: false });
  });
  afterAll(async () => {
    await cluster.close();
  });

  it('says KEDA is missing and points at the -hpa overlay', async () => {
    const run = await deploy(cluster, ['--env', 'staging', '--image', `${IMAGE}:1.0.0`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ScaledObject kai-system-staging/kai-gpu-pool cannot be applied');
    expect(run.stderr).toContain('KEDA is not installed in this cluster');
    expect(run.stderr).toContain('Nothing was applied.');
    expect(cluster.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('fails a first deploy that never becomes ready, with nothing to roll back to', async () => {
    const run = await deploy(cluster, [
      ...['--env', 'staging-hpa', '--image', `${IMAGE}:broken`],
      ...['--rollout-timeout-ms', '1500'],
    ]);
    expect(run.code, said(run)).toBe(1);
    expect(run.stdout).toContain('no rollback: it is the first deploy');
    expect(cluster.requests.some((r) => r.contentType === 'application/json-patch+json')).toBe(
      false,
    );
  });
});
