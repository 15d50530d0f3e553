import { execFile } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

/** A Kubernetes object as a manifest describes it: kind, version, name and the rest. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

const manifestSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({ name: z.string().min(1), namespace: z.string().optional() }),
});

/** kubectl printed nothing useful, or is not installed. */
export class RenderError extends Error {}

/** How long `kubectl kustomize` may take; it reads local files only. */
const RENDER_TIMEOUT_MS = 60_000;

/**
 * Renders a kustomize directory with `kubectl kustomize` (no cluster needed) and parses every
 * document. A missing kubectl, a kustomize error or a document without kind, version or name
 * is a `RenderError` that says which.
 */
export async function renderOverlay(dir: string): Promise<ManifestObject[]> {
  const yamlText = await new Promise<string>((resolve, reject) => {
    execFile(
      'kubectl',
      ['kustomize', dir],
      { timeout: RENDER_TIMEOUT_MS, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new RenderError('kubectl is not installed or not on PATH; install kubectl.'));
        } else {
          reject(new RenderError(`kubectl kustomize ${dir} failed: ${stderr.trim()}`));
        }
      },
    );
  });

  return parseManifests(yamlText, dir);
}

/** Parses a multi-document YAML stream of manifests, skipping empty documents. */
export function parseManifests(yamlText: string, source: string): ManifestObject[] {
  const objects: ManifestObject[] = [];
  for (const [index, document] of parseAllDocuments(yamlText).entries()) {
    if (document.errors.length > 0) {
      throw new RenderError(`${source}: document ${index + 1}: ${document.errors[0]?.message}`);
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;

    const parsed = manifestSchema.safeParse(value);
    if (!parsed.success) {
      throw new RenderError(
        `${source}: document ${index + 1} is not a Kubernetes object: ` +
          parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '),
      );
    }
    objects.push(parsed.data as ManifestObject);
  }
  return objects;
}
