// Every overlay in k8s/ rendered by the real `kubectl kustomize`, each object validated against
// the Kubernetes (and KEDA) schemas of kubernetes-models, and the pool's settings checked
// against what Kai's own configuration and the operators' reference say they must be.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { dumpYaml, loadYaml } from '@kubernetes/client-node';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { envSchema } from '../core/config/schema.ts';
import { type ManifestObject, renderOverlay } from '../scripts/deploy/render-overlay.ts';
import { REPO_ROOT } from './helpers/migrations-dir.ts';
import { createTestDatabase } from './helpers/test-database.ts';

const OVERLAYS = ['staging', 'production', 'staging-hpa', 'production-hpa'] as const;
type Overlay = (typeof OVERLAYS)[number];

/** What the operators' reference table says per environment. */
const EXPECTED = {
  staging: { namespace: 'kai-system-staging', min: 1, max: 5, pdb: 1, cpu: 2, memoryGi: 8 },
  production: { namespace: 'kai-system', min: 2, max: 10, pdb: 2, cpu: 4, memoryGi: 16 },
} as const;

const environmentOf = (overlay: Overlay) =>
  EXPECTED[overlay.startsWith('production') ? 'production' : 'staging'];

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** The schemas of every apiVersion the overlays use, from kubernetes-models. */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'policy/v1': policy,
  'networking.k8s.io/v1': networking,
  'autoscaling/v2': autoscaling,
  'keda.sh/v1alpha1': keda,
};

/** The kubernetes-models class of an object's apiVersion and kind, or undefined. */
function modelOf(object: ManifestObject): ModelClass | undefined {
  return MODELS[object.apiVersion]?.[object.kind] as ModelClass | undefined;
}

// Kubernetes types are wide; the assertions below read them through this loose view.
// biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field below
type Loose = any;

const rendered = new Map<Overlay, ManifestObject[]>();

function find(overlay: Overlay, kind: string, name = 'kai-gpu-pool'): Loose {
  const object = rendered.get(overlay)?.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`${overlay} renders no ${kind} ${name}`);
  return object;
}

function configMapEnv(overlay: Overlay): Record<string, string> {
  const maps = (rendered.get(overlay) ?? []).filter((o) => o.kind === 'ConfigMap') as Loose[];
  return Object.assign({}, ...maps.map((m) => m.data as Record<string, string>));
}

/** `8Gi` and friends in bytes; the few suffixes the manifests use. */
function bytes(quantity: string): number {
  const match = /^(\d+)(Gi|Mi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 2 ** 30 : 2 ** 20);
}

beforeAll(async () => {
  // Without kubectl this file must fail, not pass on nothing.
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
  } catch {
    throw new Error('kubectl is needed to render k8s/ (`kubectl kustomize`); install kubectl.');
  }
  for (const overlay of OVERLAYS) {
    rendered.set(overlay, await renderOverlay(join(REPO_ROOT, 'k8s', 'overlays', overlay)));
  }
});

describe.each(OVERLAYS)('k8s/overlays/%s', (overlay) => {
  const expected = environmentOf(overlay);

  it('validates every rendered object against its schema', () => {
    const objects = rendered.get(overlay) ?? [];
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        overlay.endsWith('-hpa') ? 'HorizontalPodAutoscaler' : 'ScaledObject',
        'Namespace',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
      ].sort(),
    );

    for (const object of objects) {
      const Model = modelOf(object);
      expect(Model, `${object.apiVersion} ${object.kind} has a model`).toBeDefined();
      if (!Model) continue;
      expect(
        () => new Model(object).validate(),
        `${object.kind} ${object.metadata.name}`,
      ).not.toThrow();

      if (object.kind === 'Namespace') expect(object.metadata.name).toBe(expected.namespace);
      else expect(object.metadata.namespace, object.kind).toBe(expected.namespace);
    }
  });

  it('has no field the Kubernetes API does not know (client-node’s typed models keep it)', () => {
    // client-node's models hold every field of the built-in kinds and drop what they do not
    // know: a misspelt field would vanish here, and from what `npm run deploy` applies.
    for (const object of rendered.get(overlay) ?? []) {
      const roundTrip = parseYaml(dumpYaml(loadYaml(JSON.stringify(object))));
      expect(roundTrip, `${object.kind} ${object.metadata.name}`).toEqual(object);
    }
    const broken = structuredClone(find(overlay, 'Deployment'));
    broken.spec.template.spec.containers[0].livenessProbe.httpGett = { path: '/healthz' };
    expect(parseYaml(dumpYaml(loadYaml(JSON.stringify(broken))))).not.toEqual(broken);
  });

  it('schedules the pool on GPU nodes with one GPU per pod and the environment sizes', () => {
    const pod = find(overlay, 'Deployment').spec.template.spec;
    const [container] = pod.containers;

    expect(pod.nodeSelector).toEqual({ 'node-type': 'gpu-optimized' });
    expect(pod.tolerations).toContainEqual({
      key: 'nvidia.com/gpu',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    expect(container.resources.limits['nvidia.com/gpu']).toBe('1');
    expect(container.resources.requests['nvidia.com/gpu']).toBe('1');
    expect(Number(container.resources.requests.cpu)).toBe(expected.cpu);
    expect(bytes(container.resources.requests.memory)).toBe(expected.memoryGi * 2 ** 30);
    expect(bytes(container.resources.limits.memory)).toBe(2 * expected.memoryGi * 2 ** 30);
  });

  it('probes the pool on METRICS_PORT: /healthz for liveness, /readyz for readiness', () => {
    const env = configMapEnv(overlay);
    const [container] = find(overlay, 'Deployment').spec.template.spec.containers;
    const metricsPort = container.ports.find((p: Loose) => p.name === 'metrics');

    expect(String(metricsPort.containerPort)).toBe(env.METRICS_PORT);
    expect(env.METRICS_PORT).toBe('8081');
    // The pool binds HOST; the kubelet probes from outside the pod's loopback.
    expect(env.HOST).toBe('0.0.0.0');
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  });

  it('gives a stopping pod longer than its drain, and starts the drain in preStop', () => {
    const env = configMapEnv(overlay);
    const pod = find(overlay, 'Deployment').spec.template.spec;
    const shutdownMs = Number(env.SHUTDOWN_TIMEOUT_MS);

    // The drain waits at most SHUTDOWN_TIMEOUT_MS for running jobs: the longest job a stopping
    // pod finishes. The kubelet must not kill it before, with a margin to settle and close.
    expect(shutdownMs).toBeGreaterThanOrEqual(10 * 60_000);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(shutdownMs + 30_000);
    expect(pod.containers[0].lifecycle.preStop.exec.command.join(' ')).toContain('kill -TERM 1');
  });

  it('runs the pool as non-root on a read-only root filesystem with a writable /tmp', () => {
    const pod = find(overlay, 'Deployment').spec.template.spec;
    const [container] = pod.containers;

    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const tmp = container.volumeMounts.find((m: Loose) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: Loose) => v.name === tmp.name).emptyDir).toBeDefined();
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('takes DATABASE_URL from a Secret and every setting from ConfigMaps Kai accepts', () => {
    const deployment = find(overlay, 'Deployment');
    const [container] = deployment.spec.template.spec.containers;
    const env = configMapEnv(overlay);

    const databaseUrl = container.env.find((e: Loose) => e.name === 'DATABASE_URL');
    expect(databaseUrl.valueFrom.secretKeyRef).toEqual({
      name: 'kai-pool-secrets',
      key: 'DATABASE_URL',
    });
    expect(container.env.every((e: Loose) => e.value === undefined)).toBe(true);

    // The ConfigMaps parse with Kai's own schema, as the pool will parse them at start.
    const parsed = envSchema.safeParse({ ...env, DATABASE_URL: 'postgres://u:p@db:5432/kai' });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data?.KAI_QUEUES).toEqual({
      interactive: { concurrency: 5, weight: 10 },
      batch: { concurrency: 10, weight: 5 },
      maintenance: { concurrency: 2, weight: 1 },
    });
    expect(parsed.data?.MODEL_DIR).toBe('/app/models');

    const referenced = container.envFrom.map((e: Loose) => e.configMapRef.name).sort();
    const present = (rendered.get(overlay) ?? [])
      .filter((o) => o.kind === 'ConfigMap')
      .map((o) => o.metadata.name)
      .sort();
    expect(referenced).toEqual(present);
  });

  it('keeps five revisions to roll back to and never drops below capacity in a rollout', () => {
    const spec = find(overlay, 'Deployment').spec;
    expect(spec.revisionHistoryLimit).toBe(5);
    expect(spec.replicas).toBeUndefined();
    expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('has the reference PodDisruptionBudget and a scrapeable Service', () => {
    const pdb = find(overlay, 'PodDisruptionBudget');
    const service = find(overlay, 'Service', 'kai-gpu-pool-metrics');
    const labels = find(overlay, 'Deployment').spec.template.metadata.labels;

    expect(pdb.spec.minAvailable).toBe(expected.pdb);
    expect(service.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8081',
      'prometheus.io/path': '/metrics',
    });
    for (const [key, value] of Object.entries(service.spec.selector)) {
      expect(labels[key]).toBe(value);
    }
  });

  it('lets the pool reach only DNS and Postgres, and only Prometheus reach it', () => {
    const policy = find(overlay, 'NetworkPolicy');
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const egressPorts = policy.spec.egress.flatMap((rule: Loose) =>
      rule.ports.map((p: Loose) => p.port),
    );
    expect(egressPorts.sort()).toEqual([53, 53, 5432, 6543]);
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8081 }]);
  });
});

describe('the schema check', () => {
  it('rejects a Deployment without a selector and a ScaledObject without a target', () => {
    const deployment = structuredClone(find('staging', 'Deployment'));
    delete deployment.spec.selector;
    const scaled = structuredClone(find('staging', 'ScaledObject'));
    delete scaled.spec.scaleTargetRef;

    expect(() => new (modelOf(deployment) as ModelClass)(deployment).validate()).toThrow(
      /selector/,
    );
    expect(() => new (modelOf(scaled) as ModelClass)(scaled).validate()).toThrow(/scaleTargetRef/);
  });
});

describe('autoscaling', () => {
  it.each(['staging', 'production'] as const)(
    '%s scales on kai.queue_depth with KEDA within the reference bounds',
    async (overlay) => {
      const scaled = find(overlay, 'ScaledObject');
      const expected = EXPECTED[overlay];

      expect(scaled.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'kai-gpu-pool',
      });
      expect([scaled.spec.minReplicaCount, scaled.spec.maxReplicaCount]).toEqual([
        expected.min,
        expected.max,
      ]);
      expect(scaled.spec.fallback).toEqual({ failureThreshold: 3, replicas: expected.min });
      const queries = scaled.spec.triggers.map((t: Loose) => {
        expect(t.type).toBe('postgresql');
        expect(t.metadata.connectionFromEnv).toBe('DATABASE_URL');
        return t.metadata.query;
      });
      expect(queries).toEqual([
        'select kai.queue_depth()',
        "select kai.queue_depth('interactive')",
      ]);
    },
  );

  it("runs KEDA's exact queries on a migrated database, each returning one integer", async () => {
    const testDb = await createTestDatabase();
    try {
      await testDb.db.query(
        `insert into public.jobs (type, payload, queue) values ('noop', '{}', 'interactive'),
           ('noop', '{}', 'batch'), ('noop', '{}', 'batch')`,
      );
      const triggers = find('production', 'ScaledObject').spec.triggers as Loose[];
      const depths = [];
      for (const trigger of triggers) {
        const rows = await testDb.db.query<Record<string, unknown>>(trigger.metadata.query);
        expect(rows).toHaveLength(1);
        depths.push(Number(Object.values(rows[0] ?? {})[0]));
      }
      expect(depths).toEqual([3, 1]);
    } finally {
      await testDb.drop();
    }
  });

  it.each(['staging-hpa', 'production-hpa'] as const)(
    '%s replaces KEDA with a 75%% CPU HPA, never both',
    (overlay) => {
      const hpa = find(overlay, 'HorizontalPodAutoscaler');
      const expected = environmentOf(overlay);
      expect(rendered.get(overlay)?.some((o) => o.kind === 'ScaledObject')).toBe(false);
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([expected.min, expected.max]);
      expect(hpa.spec.metrics[0].resource).toEqual({
        name: 'cpu',
        target: { type: 'Utilization', averageUtilization: 75 },
      });
    },
  );
});
