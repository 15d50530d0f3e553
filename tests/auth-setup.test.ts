// Where the JWT secret comes from: configured, or generated once in KAI_DATA_DIR on a local
// stack, never invented by a deployed Kai; and `npm run token` signs what the stack accepts.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveJwtOptions } from '../core/auth/auth-setup.ts';
import { createJwtVerifier } from '../core/auth/jwt-verifier.ts';
import { loadLocalJwtSecret } from '../core/auth/local-jwt-secret.ts';
import { loadConfig } from '../core/config/load-config.ts';
import { envSchema } from '../core/config/schema.ts';
import { REPO_ROOT } from './helpers/migrations-dir.ts';

const run = promisify(execFile);
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kai-auth-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const SECRET = 'a-configured-supabase-jwt-secret-of-some-length';

describe('the local JWT secret', () => {
  it('is made once from the CSPRNG, readable by the owner only, and then reused', async () => {
    const dir = join(dataDir, 'once');
    const [first, second] = await Promise.all([loadLocalJwtSecret(dir), loadLocalJwtSecret(dir)]);
    const third = await loadLocalJwtSecret(dir);
    const file = await stat(join(dir, 'jwt-secret'));

    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(file.mode & 0o777).toBe(0o600);
  });
});

describe('resolveJwtOptions', () => {
  it('gives the embedded stack the data dir secret and the kai-local issuer', async () => {
    const config = loadConfig({ KAI_DATA_DIR: join(dataDir, 'embedded') });
    const options = await resolveJwtOptions(config, 'local');

    expect(options).toMatchObject({
      source: 'data-dir',
      issuer: 'kai-local',
      audience: 'authenticated',
    });
    expect(options.secret).toBe(
      (await readFile(join(dataDir, 'embedded', 'jwt-secret'), 'utf8')).trim(),
    );
  });

  it('also for a Postgres on loopback, but never for a remote database or serverless', async () => {
    const loopback = loadConfig({
      KAI_DATA_DIR: join(dataDir, 'loopback'),
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
    });
    const remote = loadConfig({
      KAI_DATA_DIR: join(dataDir, 'remote'),
      DATABASE_URL: 'postgres://postgres:pw@db.abcd.supabase.co:5432/postgres',
    });

    expect((await resolveJwtOptions(loopback, 'local')).source).toBe('data-dir');
    await expect(resolveJwtOptions(remote, 'local')).rejects.toThrow(/SUPABASE_JWT_SECRET/);
    await expect(resolveJwtOptions(loopback, 'serverless')).rejects.toThrow(/SUPABASE_JWT_SECRET/);
  });

  it('takes a configured secret with the issuer of SUPABASE_URL, and insists on an issuer', async () => {
    const supabase = loadConfig({
      DATABASE_URL: 'postgres://postgres:pw@db.abcd.supabase.co:5432/postgres',
      SUPABASE_URL: 'https://abcd.supabase.co/',
      SUPABASE_JWT_SECRET: SECRET,
    });
    const noIssuer = loadConfig({
      DATABASE_URL: 'postgres://postgres:pw@db.abcd.supabase.co:5432/postgres',
      SUPABASE_JWT_SECRET: SECRET,
    });

    expect(await resolveJwtOptions(supabase, 'serverless')).toMatchObject({
      source: 'configured',
      secret: SECRET,
      issuer: 'https://abcd.supabase.co/auth/v1',
    });
    await expect(resolveJwtOptions(noIssuer, 'serverless')).rejects.toThrow(/SUPABASE_URL/);
  });

  it('refuses a secret too short to be one', () => {
    expect(() => loadConfig({ SUPABASE_JWT_SECRET: 'short' })).toThrow(/SUPABASE_JWT_SECRET/);
  });
});

describe('npm run token', () => {
  /** The environment of a child: the test's Kai variables only. */
  function envWith(vars: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(envSchema.shape)) delete env[name];
    return { ...env, ...vars };
  }

  it('prints a JWT for --sub that the local stack verifies', async () => {
    const dir = join(dataDir, 'token');
    const sub = '6f1c2a3e-1111-4000-8000-000000000042';
    const { stdout } = await run('npm', ['run', '--silent', 'token', '--', '--sub', sub], {
      cwd: REPO_ROOT,
      env: envWith({ KAI_DATA_DIR: dir }),
    });
    const token = stdout.trim();

    const options = await resolveJwtOptions(loadConfig({ KAI_DATA_DIR: dir }), 'local');
    const claims = await createJwtVerifier(options)(token);
    expect(token.split('.')).toHaveLength(3);
    expect(claims).toMatchObject({ sub, role: 'authenticated', iss: 'kai-local' });
    expect((claims.exp ?? 0) - Math.floor(Date.now() / 1000)).toBeGreaterThan(3000);
  });

  it('signs with SUPABASE_JWT_SECRET when it is set', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'token', '--', '--ttl', '60'], {
      cwd: REPO_ROOT,
      env: envWith({
        KAI_DATA_DIR: join(dataDir, 'configured'),
        SUPABASE_JWT_SECRET: SECRET,
        SUPABASE_URL: 'https://abcd.supabase.co',
      }),
    });

    const claims = await createJwtVerifier({
      secret: SECRET,
      issuer: 'https://abcd.supabase.co/auth/v1',
      audience: 'authenticated',
    })(stdout.trim());
    expect(claims.sub).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a --sub that is not a UUID with one line on stderr', async () => {
    const failed = run('npm', ['run', '--silent', 'token', '--', '--sub', 'root'], {
      cwd: REPO_ROOT,
      env: envWith({ KAI_DATA_DIR: join(dataDir, 'bad') }),
    });

    await expect(failed).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^kai token: --sub expects a user id \(a UUID\)\.\n/),
    });
  });
});
