import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { REFERENCE_CHECKS } from './readiness-checks.ts';
import type { DeployOptions } from './run-deploy.ts';

/** What `npm run deploy -- --help` prints. */
export const USAGE = `Usage: npm run deploy -- --env <staging|production> [options]

  --env <name>               deploy k8s/overlays/<name> (staging, production, staging-hpa, ...)
  --overlay <dir>            deploy another kustomize directory instead
  --image <ref>              run this image in the pool (e.g. ghcr.io/acme/kai-gpu-pool:<sha>)
  --dry-run                  render and apply with the server's dry run; print the plan
  --kubeconfig <file>        kubeconfig to use (default: KUBECONFIG or ~/.kube/config)
  --context <name>           kubeconfig context to use
  --rollout-timeout-ms <n>   how long the pool's rollout may take (default 900000)
  --poll-interval-ms <n>     how often to read the rollout's status (default 2000)
  --checks <n>               readiness checks after the rollout (default 12)
  --check-interval-ms <n>    time between them (default 10000)
  --max-failed-checks <n>    failed checks tolerated before rolling back (default 3)
`;

/** The command line was wrong; the message says how, and USAGE what it takes. */
export class UsageError extends Error {}

const count = (min: number) => z.coerce.number().int().min(min);

const argsSchema = z
  .object({
    env: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'expects an overlay name such as staging or production')
      .optional(),
    overlay: z.string().min(1).optional(),
    image: z
      .string()
      .regex(/^[\w.\-/:@]+$/, 'expects an image reference such as registry/name:tag')
      .optional(),
    'dry-run': z.boolean().default(false),
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    'rollout-timeout-ms': count(1000).default(900_000),
    'poll-interval-ms': count(10).default(2000),
    checks: count(1).default(REFERENCE_CHECKS.checks),
    'check-interval-ms': count(0).default(REFERENCE_CHECKS.intervalMs),
    'max-failed-checks': count(0).default(REFERENCE_CHECKS.maxFailures),
    help: z.boolean().default(false),
  })
  .refine((a) => a.help || (a.env === undefined) !== (a.overlay === undefined), {
    message: 'give either --env or --overlay',
  });

/** The parsed command line: deploy options plus where the cluster is. */
export interface CommandLine {
  help: boolean;
  deploy: DeployOptions;
  kubeconfigPath: string | undefined;
  context: string | undefined;
}

/** Parses `npm run deploy`'s arguments; a wrong one is a `UsageError` naming it. */
export function parseCommandLine(argv: string[], repoRoot: string): CommandLine {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        env: { type: 'string' },
        overlay: { type: 'string' },
        image: { type: 'string' },
        'dry-run': { type: 'boolean' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        'rollout-timeout-ms': { type: 'string' },
        'poll-interval-ms': { type: 'string' },
        checks: { type: 'string' },
        'check-interval-ms': { type: 'string' },
        'max-failed-checks': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }

  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = issue?.path.length ? `--${issue.path.join('.')} ` : '';
    throw new UsageError(`${flag}${issue?.message ?? 'is wrong'}`);
  }
  const a = parsed.data;

  return {
    help: a.help,
    kubeconfigPath: a.kubeconfig,
    context: a.context,
    deploy: {
      overlayDir: a.overlay ?? join(repoRoot, 'k8s', 'overlays', a.env ?? ''),
      image: a.image,
      dryRun: a['dry-run'],
      rolloutTimeoutMs: a['rollout-timeout-ms'],
      pollIntervalMs: a['poll-interval-ms'],
      checks: {
        checks: a.checks,
        intervalMs: a['check-interval-ms'],
        maxFailures: a['max-failed-checks'],
      },
    },
  };
}
