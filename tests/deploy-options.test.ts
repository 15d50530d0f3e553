// The command line of `npm run deploy`: its defaults are the operators' reference (12 readiness
// checks at 10 s, more than 3 failing roll back; the rollout timeout is the Deployment's
// progress deadline), and a wrong flag is a UsageError naming it.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../scripts/deploy/deploy-options.ts';
import { renderOverlay } from '../scripts/deploy/render-overlay.ts';
import { REPO_ROOT } from './helpers/migrations-dir.ts';

describe('npm run deploy options', () => {
  it('defaults to the reference health checks and the progress deadline', async () => {
    const { deploy, kubeconfigPath, help } = parseCommandLine(['--env', 'production'], REPO_ROOT);

    expect(help).toBe(false);
    expect(kubeconfigPath).toBeUndefined();
    expect(deploy).toEqual({
      overlayDir: join(REPO_ROOT, 'k8s', 'overlays', 'production'),
      image: undefined,
      dryRun: false,
      rolloutTimeoutMs: 900_000,
      pollIntervalMs: 2000,
      checks: { checks: 12, intervalMs: 10_000, maxFailures: 3 },
    });

    const objects = await renderOverlay(deploy.overlayDir);
    // biome-ignore lint/suspicious/noExplicitAny: one field of the rendered Deployment
    const pool: any = objects.find((o) => o.kind === 'Deployment');
    expect(pool.spec.progressDeadlineSeconds * 1000).toBe(deploy.rolloutTimeoutMs);
  });

  it('takes an overlay directory, an image, a kubeconfig and a dry run', () => {
    const { deploy, kubeconfigPath, context } = parseCommandLine(
      ['--overlay', '/tmp/o', '--image', 'ghcr.io/acme/kai-gpu-pool:abc123', '--dry-run'].concat([
        '--kubeconfig',
        '/tmp/kc',
        '--context',
        'do-fra1',
        '--checks',
        '4',
      ]),
      REPO_ROOT,
    );
    expect(deploy).toMatchObject({
      overlayDir: '/tmp/o',
      image: 'ghcr.io/acme/kai-gpu-pool:abc123',
      dryRun: true,
      checks: { checks: 4 },
    });
    expect([kubeconfigPath, context]).toEqual(['/tmp/kc', 'do-fra1']);
  });

  it.each([
    [[], 'give either --env or --overlay'],
    [['--env', 'staging', '--overlay', 'x'], 'give either --env or --overlay'],
    [['--env', '../etc'], '--env expects an overlay name'],
    [['--env', 'staging', '--checks', 'many'], '--checks'],
    [['--env', 'staging', '--image', 'a b'], '--image expects an image reference'],
    [['--env', 'staging', '--force'], "Unknown option '--force'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandLine(argv, REPO_ROOT)).toThrow(UsageError);
    expect(() => parseCommandLine(argv, REPO_ROOT)).toThrow(message);
  });
});
