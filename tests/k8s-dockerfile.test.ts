// gpu-pool/Dockerfile cannot be built here (no Docker). What can be checked without building:
// that the image holds everything `node gpu-pool/main.ts` imports (the folders it copies, and
// production dependencies only, as `npm ci --omit=dev` installs), that the CUDA add-on it checks
// for is the one onnxruntime-node's install script fetches, and that it agrees with the
// Deployment about the user and the paths.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderOverlay } from '../scripts/deploy/render-overlay.ts';
import { REPO_ROOT } from './helpers/migrations-dir.ts';

let dockerfile: string;
let dockerignore: string;

/** The sources of every `COPY <src> <dest>` from the build context (not from a stage). */
function contextCopies(text: string): string[] {
  return [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]?.split(' ') ?? []);
}

/** Every file `entry` reaches through relative imports, and every package it imports. */
async function importClosure(
  entry: string,
): Promise<{ files: Set<string>; packages: Set<string> }> {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    const source = await readFile(file, 'utf8');
    const specifiers = [
      ...source.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm),
      ...source.matchAll(/import\(\s*'([^']+)'\s*\)/g),
      ...source.matchAll(/^import\s+'([^']+)'/gm),
    ].map((m) => m[1] as string);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        pending.push(resolve(dirname(file), specifier));
      } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? ''));
      }
    }
  }
  return { files, packages };
}

beforeAll(async () => {
  dockerfile = await readFile(join(REPO_ROOT, 'gpu-pool', 'Dockerfile'), 'utf8');
  dockerignore = await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8');
});

describe('gpu-pool/Dockerfile', () => {
  it('copies every file the pool imports, and the migrations it checks', async () => {
    const copied = contextCopies(dockerfile);
    const { files } = await importClosure(join(REPO_ROOT, 'gpu-pool', 'main.ts'));
    expect(files.size).toBeGreaterThan(20);

    for (const file of files) {
      const path = relative(REPO_ROOT, file);
      const top = path.split('/')[0] ?? '';
      expect(copied, `${path} is in the image`).toContain(top);
      expect(dockerignore, `${top}/ is sent to the build`).toContain(`!${top}/`);
    }
    expect(copied).toContain('supabase/migrations');
    expect(dockerignore).toContain('!supabase/migrations/');
  });

  it('needs only production dependencies, as npm ci --omit=dev installs them', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
    const { packages } = await importClosure(join(REPO_ROOT, 'gpu-pool', 'main.ts'));
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(packages).toContain('onnxruntime-node');
    for (const name of packages) {
      expect(Object.keys(pkg.dependencies), `${name} is a dependency`).toContain(name);
    }
  });

  it('installs the CUDA provider that onnxruntime-node’s install script fetches', () => {
    const require = createRequire(join(REPO_ROOT, 'package.json'));
    const metadata = require('onnxruntime-node/script/install-metadata.js') as {
      requirements: Record<string, string[]>;
      manifests: Record<string, Record<string, unknown>>;
    };
    expect(metadata.requirements['linux/x64']).toContain('cuda12');
    const cudaFiles = Object.keys(metadata.manifests['linux/x64:cuda12'] ?? {});
    expect(cudaFiles).toContain('./libonnxruntime_providers_cuda.so');

    expect(dockerfile).toContain(
      'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js',
    );
    expect(dockerfile).toContain(
      'test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so',
    );
    expect(
      existsSync(join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'script', 'install.js')),
    ).toBe(true);
    expect(dockerfile).toMatch(/^ARG CUDA_IMAGE=nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/m);
  });

  it('runs the pool as the Deployment’s user, with its paths and port', async () => {
    const objects = await renderOverlay(join(REPO_ROOT, 'k8s', 'overlays', 'production'));
    // biome-ignore lint/suspicious/noExplicitAny: two fields of the rendered Deployment
    const deployment: any = objects.find((o) => o.kind === 'Deployment');
    const pod = deployment.spec.template.spec;

    expect(dockerfile).toMatch(new RegExp(`^USER ${pod.securityContext.runAsUser}:`, 'm'));
    expect(dockerfile).toMatch(/MODEL_DIR=\/app\/models/);
    expect(dockerfile).toMatch(/^EXPOSE 8081$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "gpu-pool\/main\.ts"\]$/m);
    expect(pod.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain(
      '/tmp',
    );
  });
});
