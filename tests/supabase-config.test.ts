// supabase/config.toml parsed as TOML and checked, then used by the real Supabase CLI for
// `supabase functions deploy --use-api`, pointed (through a CLI profile) at a fake Supabase
// Management API on 127.0.0.1 that answers the deploy endpoint as the real one does: the CLI
// must accept the file, find each entrypoint in edge/ and upload it with what it imports.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPO_ROOT } from './helpers/migrations-dir.ts';

const SUPABASE_DIR = join(REPO_ROOT, 'supabase');
const SUPABASE_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'supabase');
const FUNCTIONS = ['webhook-delivery', 'qstash-callback'];
const PROJECT_REF = 'kaitestprojectrefabc';
const ACCESS_TOKEN = `sbp_${'0'.repeat(40)}`;

const functionSchema = z.strictObject({
  enabled: z.boolean(),
  verify_jwt: z.boolean(),
  entrypoint: z.string(),
  import_map: z.string(),
});
const configSchema = z.looseObject({
  project_id: z.string().min(1),
  db: z.looseObject({
    major_version: z.number().int(),
    migrations: z.looseObject({ enabled: z.boolean() }),
    seed: z.looseObject({ enabled: z.boolean() }),
  }),
  realtime: z.looseObject({ enabled: z.boolean() }),
  edge_runtime: z.looseObject({ deno_version: z.number() }),
  functions: z.record(z.string(), functionSchema),
});

let config: z.infer<typeof configSchema>;

beforeAll(async () => {
  const text = await readFile(join(SUPABASE_DIR, 'config.toml'), 'utf8');
  config = configSchema.parse(parseToml(text));
});

describe('supabase/config.toml', () => {
  it('applies the migrations and seeds nothing', () => {
    expect(config.project_id).toBe('kai');
    expect(config.db.migrations.enabled).toBe(true);
    expect(config.db.seed.enabled).toBe(false);
    expect(config.realtime.enabled).toBe(true);
    expect(existsSync(join(SUPABASE_DIR, 'migrations'))).toBe(true);
  });

  it('registers each edge function at its entrypoint in edge/, without the JWT check', () => {
    expect(Object.keys(config.functions).sort()).toEqual([...FUNCTIONS].sort());
    for (const [name, fn] of Object.entries(config.functions)) {
      expect(resolve(SUPABASE_DIR, fn.entrypoint)).toBe(join(REPO_ROOT, 'edge', name, 'index.ts'));
      expect(existsSync(resolve(SUPABASE_DIR, fn.entrypoint)), fn.entrypoint).toBe(true);
      expect(existsSync(resolve(SUPABASE_DIR, fn.import_map)), fn.import_map).toBe(true);
      // QStash signs its requests and sends no Supabase JWT; the functions check the signature.
      expect(fn.verify_jwt).toBe(false);
      expect(fn.enabled).toBe(true);
    }
  });
});

interface Deployed {
  slug: string;
  authorization: string | undefined;
  metadata: {
    entrypoint_path: string;
    import_map_path: string;
    verify_jwt: boolean;
    name: string;
  };
  files: string[];
}

describe('supabase functions deploy with this config', () => {
  let server: Server;
  let home: string;
  const deployed: Deployed[] = [];
  const unexpected: string[] = [];
  const bulkUpdated: string[] = [];

  beforeAll(async () => {
    // The Management API's deploy endpoint: multipart with `metadata` and the `file` parts.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const functions = `/v1/projects/${PROJECT_REF}/functions`;
        // With several functions the CLI deploys each with `bundleOnly`, then activates them
        // together with one bulk update.
        if (req.method === 'PUT' && url.pathname === functions) {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { slug: string }[];
          bulkUpdated.push(...body.map((f) => f.slug));
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ functions: body }));
          return;
        }
        if (req.method === 'GET' && url.pathname === `/v1/projects/${PROJECT_REF}`) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              id: PROJECT_REF,
              ref: PROJECT_REF,
              organization_id: 'kai-test-org',
              name: 'kai-test',
              region: 'eu-central-1',
              created_at: new Date().toISOString(),
              status: 'ACTIVE_HEALTHY',
            }),
          );
          return;
        }
        if (req.method !== 'POST' || url.pathname !== `${functions}/deploy`) {
          unexpected.push(`${req.method} ${url.pathname}`);
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'Not found' }));
          return;
        }
        const form = await new Request(url, {
          method: 'POST',
          headers: { 'content-type': req.headers['content-type'] ?? '' },
          body: Buffer.concat(chunks),
        }).formData();
        const slug = url.searchParams.get('slug') ?? '';
        const metadata = JSON.parse(String(form.get('metadata'))) as Deployed['metadata'];
        const files = form.getAll('file').map((f) => (f as File).name);
        deployed.push({ slug, authorization: req.headers.authorization, metadata, files });

        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `00000000-0000-4000-8000-00000000000${deployed.length}`,
            slug,
            name: metadata.name,
            status: 'ACTIVE',
            version: 1,
            created_at: Date.now(),
            updated_at: Date.now(),
            verify_jwt: metadata.verify_jwt,
            entrypoint_path: metadata.entrypoint_path,
            import_map_path: metadata.import_map_path,
          }),
        );
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    home = await mkdtemp(join(tmpdir(), 'kai-supabase-home-'));
  });

  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
    await rm(home, { recursive: true, force: true });
  });

  it('uploads both functions from edge/ with their imports and settings', async () => {
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const profile = join(home, 'profile.yaml');
    await writeFile(
      profile,
      `name: kai-test\napi_url: ${api}\ndashboard_url: ${api}\nproject_host: kai.test\n`,
    );

    const run = await new Promise<{ code: number; output: string }>((done) => {
      execFile(
        SUPABASE_BIN,
        ['functions', 'deploy', '--use-api', '--project-ref', PROJECT_REF].concat([
          '--profile',
          profile,
          '--agent',
          'no',
        ]),
        {
          cwd: REPO_ROOT,
          timeout: 120_000,
          env: { PATH: process.env.PATH ?? '', HOME: home, SUPABASE_ACCESS_TOKEN: ACCESS_TOKEN },
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          done({ code, output: `${stdout}\n${stderr}` });
        },
      );
    });

    expect(run.code, run.output).toBe(0);
    expect(unexpected, run.output).toEqual([]);
    expect(bulkUpdated.sort()).toEqual([...FUNCTIONS].sort());
    expect(deployed.map((d) => d.slug).sort()).toEqual([...FUNCTIONS].sort());
    for (const fn of deployed) {
      expect(fn.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(fn.metadata).toMatchObject({
        name: fn.slug,
        entrypoint_path: `edge/${fn.slug}/index.ts`,
        import_map_path: 'edge/deno.json',
        verify_jwt: false,
      });
      expect(fn.files).toContain(`edge/${fn.slug}/index.ts`);
      // The CLI follows the entrypoint's imports into core/, which the functions run on.
      expect(
        fn.files.some((f) => f.startsWith('core/')),
        fn.files.join(', '),
      ).toBe(true);
    }
  }, 150_000);
});
