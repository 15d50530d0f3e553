import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
} from '@kubernetes/client-node';

/** The API clients the deploy uses, all over one kubeconfig context. */
export interface KubeClients {
  objects: KubernetesObjectApi;
  apps: AppsV1Api;
  core: CoreV1Api;
  /** The API server's URL, for messages. */
  server: string;
}

/**
 * Loads a kubeconfig as kubectl does: `kubeconfigPath` if given, else `KUBECONFIG` or
 * `~/.kube/config` (or the in-cluster service account), with an optional context.
 */
export function createKubeClients(options: {
  kubeconfigPath?: string | undefined;
  context?: string | undefined;
}): KubeClients {
  const kc = new KubeConfig();
  if (options.kubeconfigPath) kc.loadFromFile(options.kubeconfigPath);
  else kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);

  return {
    objects: KubernetesObjectApi.makeApiClient(kc),
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    server: kc.getCurrentCluster()?.server ?? 'unknown',
  };
}

/** True when the API server answered 404 Not Found. */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

/** One line naming what the API server said, for a failure message. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    const message = typeof body === 'object' && body?.message ? body.message : String(body ?? '');
    return `HTTP ${error.code}: ${message}`.trim();
  }
  return error instanceof Error ? error.message : String(error);
}
