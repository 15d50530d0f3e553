// vercel.json checked with Vercel's own pieces where they ship with @vercel/node: the functions
// schema and Node version table of @vercel/build-utils, and path-to-regexp (the matcher of
// rewrite and header sources); the rest against the documented fields with zod.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { functionsSchema, getSupportedNodeVersion } from '@vercel/build-utils';
import AjvModule from 'ajv';
import { pathToRegexp } from 'path-to-regexp';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPO_ROOT } from './helpers/migrations-dir.ts';

const rewriteSchema = z.strictObject({
  source: z.string().startsWith('/'),
  destination: z.string(),
});
const headerSchema = z.strictObject({
  source: z.string().startsWith('/'),
  headers: z.array(z.strictObject({ key: z.string().min(1), value: z.string().min(1) })).min(1),
});
const vercelSchema = z.strictObject({
  $schema: z.literal('https://openapi.vercel.sh/vercel.json'),
  framework: z.null(),
  outputDirectory: z.string(),
  functions: z.record(z.string(), z.unknown()),
  rewrites: z.array(rewriteSchema),
  headers: z.array(headerSchema),
});
type VercelJson = z.infer<typeof vercelSchema>;

/** The paths the API serves at its root; every one must reach the function. */
const API_PATHS = [
  '/v1',
  '/v1/jobs',
  '/v1/jobs/7b0e/events',
  '/v1/models',
  '/openapi.json',
  '/docs',
  '/healthz',
  '/readyz',
];

let config: VercelJson;

const matches = (source: string, path: string) => pathToRegexp(source).test(path);

/** The headers Vercel would add to `path`: every matching rule, later ones winning. */
function headersFor(path: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const rule of config.headers) {
    if (!matches(rule.source, path)) continue;
    for (const { key, value } of rule.headers) headers[key.toLowerCase()] = value;
  }
  return headers;
}

beforeAll(async () => {
  config = vercelSchema.parse(JSON.parse(await readFile(join(REPO_ROOT, 'vercel.json'), 'utf8')));
});

describe('vercel.json', () => {
  it('configures functions as Vercel’s functions schema allows, for files that exist', () => {
    const validate = new AjvModule.default({ allErrors: true, strict: false }).compile(
      functionsSchema,
    );
    expect(validate(config.functions), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ 'api/index.ts': { memory: 64, timeout: 30 } })).toBe(false);

    for (const [path, settings] of Object.entries(config.functions)) {
      expect(existsSync(join(REPO_ROOT, path)), path).toBe(true);
      expect(settings).toMatchObject({ memory: 1024, maxDuration: 300 });
      // `runtime` names a community runtime (`name@version`); the official Node.js runtime
      // takes its version from package.json's engines instead.
      expect(settings).not.toHaveProperty('runtime');
    }
  });

  it('runs the function on Node 24, from package.json engines', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe('24.x');
    const version = await getSupportedNodeVersion(pkg.engines.node);
    expect(version.runtime).toBe('nodejs24.x');
  });

  it('rewrites every API path to the function, and nothing else', () => {
    for (const path of API_PATHS) {
      const rewrite = config.rewrites.find((r) => matches(r.source, path));
      expect(rewrite?.destination, path).toBe('/api');
    }
    for (const path of ['/', '/robots.txt', '/v10', '/api-docs']) {
      expect(
        config.rewrites.some((r) => matches(r.source, path)),
        path,
      ).toBe(false);
    }
    expect(existsSync(join(REPO_ROOT, config.outputDirectory, 'robots.txt'))).toBe(true);
  });

  it('sends security headers everywhere and no-store on the API', () => {
    for (const path of [...API_PATHS, '/robots.txt']) {
      expect(headersFor(path), path).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'strict-transport-security': expect.stringMatching(/^max-age=\d{8,}; includeSubDomains/),
      });
    }
    for (const path of ['/v1/jobs', '/v1/jobs/7b0e/events', '/healthz', '/readyz']) {
      expect(headersFor(path)['cache-control'], path).toBe('no-store');
    }
    expect(headersFor('/v1/jobs')['content-security-policy']).toContain("default-src 'none'");
    // The API reference page loads its script and styles, so it keeps no such policy.
    expect(headersFor('/docs')['content-security-policy']).toBeUndefined();
  });
});
