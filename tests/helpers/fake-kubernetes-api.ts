// A Kubernetes API server on 127.0.0.1 for the deploy tests: the REST paths, verbs, content
// types and status codes of the real one for what `npm run deploy` uses (discovery, server-side
// apply, JSON patch, reads, label-selected lists), over an in-memory store. A small Deployment
// controller and kubelet stand in for the cluster: a changed pod template gets a ReplicaSet
// with the next revision, and the pods of an image tagged `broken` never become ready (`stalled`:
// and the Deployment reports ProgressDeadlineExceeded), those tagged `flaky` become ready and
// then fail and restart. It serves HTTPS with a certificate made
// for the run (openssl), which the kubeconfig trusts, as a real cluster's does.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

// biome-ignore lint/suspicious/noExplicitAny: stored objects are arbitrary Kubernetes JSON
type Obj = any;

/** One request as the fake server received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: unknown;
}

/** The fake cluster: its URL, a kubeconfig pointing at it, and what it was asked. */
export interface FakeKubernetes {
  url: string;
  kubeconfigPath: string;
  requests: RecordedRequest[];
  /** The stored object at an API path, such as `/apis/apps/v1/namespaces/x/deployments/y`. */
  object(path: string): Obj | undefined;
  /** Sets what another manager owns, such as the replicas an autoscaler chose. */
  setReplicas(path: string, replicas: number): void;
  close(): Promise<void>;
}

const TOKEN = 'fake-token-for-tests';
const REVISION = 'deployment.kubernetes.io/revision';

interface ResourceInfo {
  name: string;
  kind: string;
  namespaced: boolean;
}

const BUILT_IN: Record<string, ResourceInfo[]> = {
  v1: [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'services', kind: 'Service', namespaced: true },
    { name: 'pods', kind: 'Pod', namespaced: true },
  ],
  'apps/v1': [
    { name: 'deployments', kind: 'Deployment', namespaced: true },
    { name: 'deployments/status', kind: 'Deployment', namespaced: true },
    { name: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  ],
  'policy/v1': [{ name: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true }],
  'networking.k8s.io/v1': [{ name: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true }],
  'autoscaling/v2': [
    { name: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true },
  ],
};
const KEDA: Record<string, ResourceInfo[]> = {
  'keda.sh/v1alpha1': [{ name: 'scaledobjects', kind: 'ScaledObject', namespaced: true }],
};

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function status(code: number, reason: string, message: string): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    reason,
    message,
    code,
  };
}

/** A path of the API split into group-version, namespace, resource, name and subresource. */
interface ParsedPath {
  groupVersion: string;
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string | undefined;
}

function parsePath(path: string): ParsedPath | undefined {
  const match =
    /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/namespaces\/([^/]+)(?=\/))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
      path,
    );
  if (!match) return undefined;
  return {
    groupVersion: (match[1] ?? match[2]) as string,
    namespace: match[3],
    resource: match[4] as string,
    name: match[5],
    subresource: match[6],
  };
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string | null) {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return key !== undefined && labels?.[key] === value;
  });
}

function applyJsonPatch(target: Obj, ops: Obj[]): void {
  for (const op of ops) {
    if (op.op !== 'replace' && op.op !== 'add') throw new Error(`unsupported op ${op.op}`);
    const keys = String(op.path).split('/').slice(1);
    const last = keys.pop() as string;
    let parent = target;
    for (const key of keys) {
      if (parent[key] === undefined) {
        if (op.op === 'replace') throw new Error(`path ${op.path} does not exist`);
        parent[key] = {};
      }
      parent = parent[key];
    }
    if (op.op === 'replace' && !(last in parent)) throw new Error(`path ${op.path} does not exist`);
    parent[last] = structuredClone(op.value);
  }
}

/** A key and a certificate for 127.0.0.1, valid for a day, made with openssl. */
async function selfSignedCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
        .concat(['-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1'])
        .concat(['-addext', 'subjectAltName=IP:127.0.0.1']),
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new Error(`The fake Kubernetes API needs openssl for its certificate: ${error}`);
  }
  return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
}

/** Starts the fake API server with an empty store; `keda` registers KEDA's CRD group. */
export async function startFakeKubernetes(options: { keda: boolean }): Promise<FakeKubernetes> {
  const groups = { ...BUILT_IN, ...(options.keda ? KEDA : {}) };
  const store = new Map<string, Obj>();
  const requests: RecordedRequest[] = [];
  /** Status reads since a Deployment's generation last changed: the controller's clock. */
  const ticks = new Map<string, number>();
  let resourceVersion = 1000;
  /** How often the pods of each ReplicaSet were listed: a flaky pod fails after the first. */
  const podListings = new Map<string, number>();

  const nextVersion = () => String(++resourceVersion);
  const infoOf = (gv: string, resource: string) => groups[gv]?.find((r) => r.name === resource);
  const collectionPath = (p: ParsedPath) =>
    `/${p.groupVersion === 'v1' ? 'api/v1' : `apis/${p.groupVersion}`}` +
    `${p.namespace ? `/namespaces/${p.namespace}` : ''}/${p.resource}`;

  const imageOf = (template: Obj): string => template?.spec?.containers?.[0]?.image ?? '';
  const health = (image: string) =>
    image.includes('broken') || image.includes('stalled')
      ? 'broken'
      : image.includes('flaky')
        ? 'flaky'
        : 'healthy';
  const templateHash = (template: Obj) =>
    createHash('sha256').update(stableJson(template)).digest('hex').slice(0, 10);

  const replicaSetsOf = (deployment: Obj): Obj[] =>
    [...store.entries()]
      .filter(([path]) =>
        path.includes(`/namespaces/${deployment.metadata.namespace}/replicasets/`),
      )
      .map(([, rs]) => rs)
      .filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === deployment.metadata.uid);

  /** The Deployment controller's reaction to a new pod template: a ReplicaSet and a revision. */
  const newRevision = (deployment: Obj) => {
    const owned = replicaSetsOf(deployment);
    const revision = Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations[REVISION])));
    const hash = templateHash(deployment.spec.template);
    let rs = owned.find((r) => r.metadata.labels['pod-template-hash'] === hash);
    if (!rs) {
      const template = structuredClone(deployment.spec.template);
      template.metadata.labels = { ...template.metadata.labels, 'pod-template-hash': hash };
      rs = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${deployment.metadata.name}-${hash}`,
          namespace: deployment.metadata.namespace,
          uid: randomUUID(),
          labels: template.metadata.labels,
          annotations: {},
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: deployment.metadata.name,
              uid: deployment.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { replicas: 0, selector: deployment.spec.selector, template },
      };
      store.set(
        `/apis/apps/v1/namespaces/${deployment.metadata.namespace}/replicasets/${rs.metadata.name}`,
        rs,
      );
    }
    rs.metadata.annotations[REVISION] = String(revision + 1);
    rs.metadata.resourceVersion = nextVersion();
    deployment.metadata.annotations = {
      ...deployment.metadata.annotations,
      [REVISION]: String(revision + 1),
    };
  };

  /** Advances the rollout of `deployment` by one status read, as the controller would. */
  const progress = (path: string, deployment: Obj) => {
    const tick = (ticks.get(path) ?? 0) + 1;
    ticks.set(path, tick);
    const wanted = deployment.spec.replicas ?? 1;
    const hadOld = replicaSetsOf(deployment).length > 1;
    if (tick < 2) return;

    const current = health(imageOf(deployment.spec.template));
    const old = hadOld ? wanted : 0;
    deployment.status = {
      observedGeneration: deployment.metadata.generation,
      // An image tagged `stalled` also runs past the progress deadline at once.
      conditions: [
        imageOf(deployment.spec.template).includes('stalled')
          ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }
          : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' },
      ],
      ...(current === 'broken'
        ? { replicas: old + 1, updatedReplicas: 1, availableReplicas: old, readyReplicas: old }
        : tick === 2 && hadOld
          ? { replicas: wanted + 1, updatedReplicas: wanted, availableReplicas: wanted }
          : {
              replicas: wanted,
              updatedReplicas: wanted,
              readyReplicas: wanted,
              availableReplicas: wanted,
            }),
    };
  };

  /** The kubelet's view: the pods of a Deployment's current revision. */
  const podsOf = (namespace: string): Obj[] => {
    const pods: Obj[] = [];
    for (const [path, deployment] of store) {
      if (!path.startsWith(`/apis/apps/v1/namespaces/${namespace}/deployments/`)) continue;
      const revision = deployment.metadata.annotations?.[REVISION];
      const rs = replicaSetsOf(deployment).find(
        (r) => r.metadata.annotations[REVISION] === revision,
      );
      if (!rs) continue;
      const kind = health(imageOf(rs.spec.template));
      const listed = (podListings.get(rs.metadata.name) ?? 0) + 1;
      podListings.set(rs.metadata.name, listed);
      for (let i = 0; i < (deployment.spec.replicas ?? 1); i++) {
        const ready = kind === 'healthy' || (kind === 'flaky' && listed === 1);
        pods.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `${rs.metadata.name}-${i}`, namespace, labels: rs.metadata.labels },
          spec: rs.spec.template.spec,
          status: {
            phase: 'Running',
            conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
            containerStatuses: [
              {
                name: 'gpu-pool',
                image: imageOf(rs.spec.template),
                imageID: '',
                ready,
                restartCount: kind === 'flaky' ? listed - 1 : 0,
              },
            ],
          },
        });
      }
    }
    return pods;
  };

  /** Stores an applied object as the API server's apply would: bookkeeping and defaults. */
  const apply = (path: string, parsed: ParsedPath, body: Obj, manager: string, dryRun: boolean) => {
    const existing = store.get(path);
    const next: Obj = structuredClone(body);
    next.metadata = {
      ...next.metadata,
      ...(parsed.namespace ? { namespace: parsed.namespace } : {}),
      uid: existing?.metadata.uid ?? randomUUID(),
      creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString(),
      managedFields: [{ manager, operation: 'Apply', apiVersion: body.apiVersion }],
    };
    if (existing?.status) next.status = existing.status;

    if (body.kind === 'Deployment') {
      // Fields the manifest leaves out stay with whoever owns them (the autoscaler's replicas).
      next.spec.replicas = body.spec.replicas ?? existing?.spec.replicas ?? 1;
      const revision = existing?.metadata.annotations?.[REVISION];
      if (revision)
        next.metadata.annotations = { ...next.metadata.annotations, [REVISION]: revision };
    }
    const specChanged = stableJson(existing?.spec) !== stableJson(next.spec);
    next.metadata.generation = (existing?.metadata.generation ?? 0) + (specChanged ? 1 : 0);

    const essence = (o: Obj) =>
      stableJson({
        ...o,
        status: undefined,
        metadata: { ...o.metadata, resourceVersion: undefined, managedFields: undefined },
      });
    const changed = !existing || essence(existing) !== essence(next);
    next.metadata.resourceVersion =
      changed && !dryRun ? nextVersion() : (existing?.metadata.resourceVersion ?? '0');
    if (dryRun) return next;

    if (
      body.kind === 'Deployment' &&
      stableJson(existing?.spec.template) !== stableJson(next.spec.template)
    ) {
      newRevision(next);
      ticks.delete(path);
      next.status = {
        ...(existing?.status ?? {}),
        observedGeneration: existing?.metadata.generation ?? 0,
      };
    }
    store.set(path, next);
    return next;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const contentType = req.headers['content-type']?.split(';')[0];
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      contentType,
      body: text ? parseYaml(text) : undefined,
    });

    const send = (code: number, value: Obj) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    }

    // Discovery: the resources of one group-version.
    const gvMatch = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/.exec(url.pathname);
    if (gvMatch && req.method === 'GET') {
      const gv = (gvMatch[1] ?? gvMatch[2]) as string;
      const resources = groups[gv];
      if (!resources)
        return send(
          404,
          status(404, 'NotFound', 'the server could not find the requested resource'),
        );
      return send(200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: gv,
        resources: resources.map((r) => ({
          ...r,
          singularName: '',
          verbs: ['get', 'list', 'patch'],
        })),
      });
    }

    const parsed = parsePath(url.pathname);
    const info = parsed && infoOf(parsed.groupVersion, parsed.resource);
    if (!parsed || !info) {
      return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    const objectPath = parsed.name ? `${collectionPath(parsed)}/${parsed.name}` : undefined;

    // Lists, with labelSelector.
    if (!parsed.name && req.method === 'GET') {
      const selector = url.searchParams.get('labelSelector');
      const items =
        info.kind === 'Pod'
          ? podsOf(parsed.namespace ?? '')
          : [...store.entries()]
              .filter(([path]) => path.startsWith(`${collectionPath(parsed)}/`))
              .map(([, o]) => o);
      return send(200, {
        kind: `${info.kind}List`,
        apiVersion: parsed.groupVersion,
        metadata: { resourceVersion: String(resourceVersion) },
        items: items.filter((o) => matchesSelector(o.metadata.labels, selector)),
      });
    }
    if (!objectPath) return send(405, status(405, 'MethodNotAllowed', 'method not allowed'));

    if (req.method === 'GET') {
      const object = store.get(objectPath);
      if (!object) {
        return send(404, status(404, 'NotFound', `${parsed.resource} "${parsed.name}" not found`));
      }
      if (info.kind === 'Deployment' && parsed.subresource === 'status')
        progress(objectPath, object);
      return send(200, object);
    }

    if (req.method === 'PATCH' && contentType === 'application/apply-patch+yaml') {
      const manager = url.searchParams.get('fieldManager');
      if (!manager) {
        return send(400, status(400, 'BadRequest', 'fieldManager is required for apply requests'));
      }
      const dryRun = url.searchParams.get('dryRun');
      if (dryRun !== null && dryRun !== 'All') {
        return send(400, status(400, 'BadRequest', `invalid dry run option: ${dryRun}`));
      }
      // The NamespaceLifecycle admission: nothing is created in a namespace that does not exist.
      if (parsed.namespace && !store.has(`/api/v1/namespaces/${parsed.namespace}`)) {
        return send(404, status(404, 'NotFound', `namespaces "${parsed.namespace}" not found`));
      }
      const body = parseYaml(text) as Obj;
      if (body?.kind !== info.kind || body?.metadata?.name !== parsed.name) {
        return send(400, status(400, 'BadRequest', 'the body does not name the object of the URL'));
      }
      return send(
        dryRun || store.has(objectPath) ? 200 : 201,
        apply(objectPath, parsed, body, manager, dryRun !== null),
      );
    }

    if (req.method === 'PATCH' && contentType === 'application/json-patch+json') {
      const object = store.get(objectPath);
      if (!object) {
        return send(404, status(404, 'NotFound', `${parsed.resource} "${parsed.name}" not found`));
      }
      const next = structuredClone(object);
      try {
        applyJsonPatch(next, JSON.parse(text) as Obj[]);
      } catch (error) {
        return send(422, status(422, 'Invalid', (error as Error).message));
      }
      if (stableJson(next.spec) !== stableJson(object.spec)) next.metadata.generation += 1;
      next.metadata.resourceVersion = nextVersion();
      if (
        info.kind === 'Deployment' &&
        stableJson(next.spec.template) !== stableJson(object.spec.template)
      ) {
        newRevision(next);
        ticks.delete(objectPath);
      }
      store.set(objectPath, next);
      return send(200, next);
    }

    if (req.method === 'PATCH') {
      return send(
        415,
        status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format: ${contentType}`,
        ),
      );
    }
    return send(405, status(405, 'MethodNotAllowed', 'method not allowed'));
  };

  const dir = await mkdtemp(join(tmpdir(), 'kai-fake-kubernetes-'));
  const tls = await selfSignedCertificate(dir);
  const server = createServer(tls, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status(500, 'InternalError', String(error))));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  const caData = Buffer.from(tls.cert).toString('base64');
  await writeFile(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `  - name: fake\n    cluster:\n      server: ${url}\n      certificate-authority-data: ${caData}`,
      'users:',
      `  - name: fake\n    user:\n      token: ${TOKEN}`,
      'contexts:',
      '  - name: fake\n    context:\n      cluster: fake\n      user: fake\n      namespace: default',
      'current-context: fake',
      '',
    ].join('\n'),
  );

  return {
    url,
    kubeconfigPath,
    requests,
    object: (path) => store.get(path),
    setReplicas: (path, replicas) => {
      const object = store.get(path);
      if (object) object.spec.replicas = replicas;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
