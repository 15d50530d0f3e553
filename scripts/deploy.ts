// `npm run deploy -- --env <staging|production>`: deploys the GPU pool's overlay to the cluster
// of the current kubeconfig context with server-side apply, waits for the rollout, checks the
// pool's readiness and rolls back on failure. `--dry-run` prints the plan. Exit codes: 0 done
// (or planned), 1 failed (rolled back where it could be), 2 wrong command line.
import { fileURLToPath } from 'node:url';
import { createLogger } from '../core/logging/logger.ts';
import { parseCommandLine, USAGE, UsageError } from './deploy/deploy-options.ts';
import { createKubeClients } from './deploy/kube-clients.ts';
import { type DeployOutcome, runDeploy } from './deploy/run-deploy.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The plan or the outcome, for the operator reading the CI log. */
function summary(result: DeployOutcome): string {
  const lines = result.applied.map((a) => {
    const verb = result.outcome === 'planned' ? planVerb(a.action) : a.action;
    const note = a.checked ? '' : ' (not checked by the server: its namespace is new)';
    return `  ${verb.padEnd(10)} ${a.ref}${note}`;
  });
  switch (result.outcome) {
    case 'planned':
      return ['Plan (server-side dry run, nothing changed):', ...lines].join('\n');
    case 'deployed':
      return [`Deployed revision ${result.revision}:`, ...lines].join('\n');
    case 'rolled-back':
      return [
        `Deploy failed: ${result.reason}.`,
        `Rolled back to revision ${result.toRevision}: ${result.rollbackRollout.message}.`,
      ].join('\n');
    case 'failed':
      return `Deploy failed: ${result.reason}.`;
  }
}

function planVerb(action: string): string {
  return { created: 'create', configured: 'update', unchanged: 'unchanged' }[action] ?? action;
}

async function main(): Promise<number> {
  let commandLine: ReturnType<typeof parseCommandLine>;
  try {
    commandLine = parseCommandLine(process.argv.slice(2), REPO_ROOT);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`kai deploy: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (commandLine.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info', name: 'kai-deploy' });
  const clients = createKubeClients(commandLine);
  const result = await runDeploy(clients, commandLine.deploy, logger);
  process.stdout.write(`${summary(result)}\n`);
  return result.outcome === 'planned' || result.outcome === 'deployed' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`kai deploy failed: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  },
);
