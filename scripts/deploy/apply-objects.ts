import { loadYaml, PatchStrategy } from '@kubernetes/client-node';
import type { KubeClients } from './kube-clients.ts';
import { describeApiError, isNotFound } from './kube-clients.ts';
import type { ManifestObject } from './render-overlay.ts';

/** The field manager Kai's deploys own their fields as (`kubectl get -o yaml --show-managed-fields`). */
export const FIELD_MANAGER = 'kai-deploy';

/** What an apply did, or in a dry run would do, to one object. */
export interface AppliedObject {
  kind: string;
  name: string;
  namespace: string | undefined;
  /** `Kind namespace/name`. */
  ref: string;
  action: 'created' | 'configured' | 'unchanged';
  /** False when a dry run could not ask the server (its namespace does not exist yet). */
  checked: boolean;
}

/** An object the API server refused; the message names it and what the server said. */
export class ApplyError extends Error {}

/** `Kind namespace/name`, as kubectl names objects. */
export function objectName(object: ManifestObject): string {
  const ns = object.metadata.namespace;
  return `${object.kind} ${ns ? `${ns}/` : ''}${object.metadata.name}`;
}

/**
 * Server-side applies each object in order (namespaces first, as rendered by kustomize), as
 * `kubectl apply --server-side --force-conflicts --field-manager=kai-deploy` does: Kai's
 * manifests are the source of truth, so fields another manager took are taken back (but the
 * autoscaler keeps `replicas`, which the manifests leave out). With `dryRun` the server runs
 * every admission step and persists nothing.
 */
export async function applyObjects(
  clients: KubeClients,
  objects: ManifestObject[],
  options: { dryRun: boolean },
): Promise<AppliedObject[]> {
  const ordered = [
    ...objects.filter((o) => o.kind === 'Namespace'),
    ...objects.filter((o) => o.kind !== 'Namespace'),
  ];
  const results: AppliedObject[] = [];

  // Every kind must be known before anything changes: a half-applied overlay helps no one.
  const before = new Map<ManifestObject, ManifestObject | null>();
  for (const object of ordered) before.set(object, await readOrNull(clients, object));

  // A server-side dry run creates no namespace, so the server would refuse every object of a
  // namespace the plan creates; those are planned unchecked.
  const plannedNamespaces = new Set(
    options.dryRun
      ? ordered.filter((o) => o.kind === 'Namespace' && before.get(o) === null).map(nameOf)
      : [],
  );

  for (const object of ordered) {
    if (object.metadata.namespace && plannedNamespaces.has(object.metadata.namespace)) {
      results.push({ ...identity(object), action: 'created', checked: false });
      continue;
    }
    let after: ManifestObject;
    try {
      after = await clients.objects.patch(
        asClientModel(object),
        undefined,
        options.dryRun ? 'All' : undefined,
        FIELD_MANAGER,
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (error) {
      throw new ApplyError(`Applying ${objectName(object)} failed: ${describeApiError(error)}.`, {
        cause: error,
      });
    }

    const previous = before.get(object) ?? null;
    results.push({
      ...identity(object),
      action: previous === null ? 'created' : changed(previous, after) ? 'configured' : 'unchanged',
      checked: true,
    });
  }
  return results;
}

/**
 * The object as client-node's model classes hold it. Its serializer writes a model's fields
 * under their API names (the class field `_from` as `from`), so a plain object handed to it
 * would lose such fields: a NetworkPolicy's ingress `from` among them.
 */
function asClientModel(object: ManifestObject): ManifestObject {
  return loadYaml<ManifestObject>(JSON.stringify(object));
}

const nameOf = (object: ManifestObject) => object.metadata.name;

function identity(object: ManifestObject) {
  return {
    kind: object.kind,
    name: object.metadata.name,
    namespace: object.metadata.namespace,
    ref: objectName(object),
  };
}

async function readOrNull(
  clients: KubeClients,
  object: ManifestObject,
): Promise<ManifestObject | null> {
  try {
    return await clients.objects.read(object);
  } catch (error) {
    if (isUnknownKind(error)) {
      throw new ApplyError(
        `${objectName(object)} cannot be applied: the server does not know ` +
          `${object.apiVersion} ${object.kind}.${hintFor(object)} Nothing was applied.`,
        { cause: error },
      );
    }
    if (isNotFound(error)) return null;
    throw new ApplyError(`Reading ${objectName(object)} failed: ${describeApiError(error)}.`, {
      cause: error,
    });
  }
}

/** client-node's discovery found no such group, version or kind on the server. */
function isUnknownKind(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /Unrecognized API version and kind|Failed to fetch resource metadata/.test(message);
}

/** Fields the server changes on every write or that no manifest sets. */
const VOLATILE_METADATA = ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp'];

/**
 * Whether an apply changed what the object says. Compared without status and the server's
 * bookkeeping, since a server-side dry run does not bump resourceVersion.
 */
function changed(before: ManifestObject, after: ManifestObject): boolean {
  const essence = (o: ManifestObject) => {
    const { status: _status, metadata, ...rest } = o;
    const kept = Object.fromEntries(
      Object.entries(metadata).filter(([key]) => !VOLATILE_METADATA.includes(key)),
    );
    return stableJson({ ...rest, metadata: kept });
  };
  return essence(before) !== essence(after);
}

/** JSON with object keys sorted, so two equal objects give one string. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function hintFor(object: ManifestObject): string {
  return object.apiVersion.startsWith('keda.sh/')
    ? ' KEDA is not installed in this cluster: install it, or deploy the `-hpa` overlay.'
    : '';
}
