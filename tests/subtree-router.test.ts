// SubtreeRouter answers every path exactly as Hono's TrieRouter of the same routes does (the
// same handlers in the same order, the same parameters), for Kai's own route table and for
// random route tables with refused routes at any depth, while the RegExpRouter takes every path
// outside the refused subtrees.
import fc from 'fast-check';
import type { Result, Router } from 'hono/router';
import { TrieRouter } from 'hono/router/trie-router';
import { describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { createApp } from '../core/http/app.ts';
import { SubtreeRouter, staticPart } from '../core/http/subtree-router.ts';
import { createLogger } from '../core/logging/logger.ts';

type Route = [method: string, path: string, handler: string];

/** A match as a list of `[handler, params]`, whichever form the router answered in. */
function normalize(result: Result<string>): [string, Record<string, string>][] {
  const [entries, stash] = result as [[string, Record<string, unknown>][], string[]?];
  return entries.map(([handler, params]) => [
    handler,
    Object.fromEntries(
      Object.entries(params).map(([name, value]) => [
        name,
        stash ? (stash[value as number] as string) : (value as string),
      ]),
    ),
  ]);
}

function routers(routes: readonly Route[]): {
  subtree: SubtreeRouter<string>;
  trie: Router<string>;
} {
  const subtree = new SubtreeRouter<string>();
  const trie = new TrieRouter<string>();
  for (const [method, path, handler] of routes) {
    subtree.add(method, path, handler);
    trie.add(method, path, handler);
  }
  return { subtree, trie };
}

/** A concrete path for a route path: each parameter a random segment, a wildcard 0-2 more. */
function pathFor(template: string, segment: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const parts = template.split('/').map((part) => {
    if (part.startsWith(':')) return segment;
    if (part === '*') return fc.array(segment, { maxLength: 2 }).map((s) => s.join('/'));
    return fc.constant(part);
  });
  return fc.tuple(...parts).map((filled) => filled.join('/').replace(/\/+$/, '') || '/');
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

describe('SubtreeRouter on Kai routes', () => {
  // The routes as Kai registers them: middleware (ALL) and every route, in the app's order.
  const app = createApp({
    db: { driver: 'pglite' } as unknown as Database,
    logger: createLogger({ level: 'silent' }),
    readiness: () => ({ migrations: true, pool: true }),
  });
  const routes: Route[] = app.routes.map((r, i) => [
    r.method,
    r.path,
    `${i} ${r.method} ${r.path}`,
  ]);
  const segment = fc.oneof(
    fc.constantFrom('read-all', 'read', 'archive', 'jobs', 'notifications', 'v1', 'x'),
    fc.uuid(),
    fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  );
  const paths = fc.oneof(
    fc.constantFrom('/', '/v1', '/v1/', '/docs', '/openapi.json', '/v1/notifications'),
    fc.constantFrom(...routes.map(([, path]) => path)).chain((path) => pathFor(path, segment)),
    fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join('/')}`),
  );

  it('gives the RegExpRouter every path but the notifications subtree', () => {
    const { subtree } = routers(routes);
    subtree.match('GET', '/v1/jobs');
    expect(subtree.subtrees).toEqual(['/v1/notifications/']);
    expect(subtree.name).toBe('SubtreeRouter (RegExp + Trie)');
  });

  it('answers every path as the TrieRouter does', () => {
    const { subtree, trie } = routers(routes);
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), paths, (method, path) => {
        expect(normalize(subtree.match(method, path))).toEqual(normalize(trie.match(method, path)));
      }),
      { numRuns: 3000 },
    );
  });

  it('serves the notifications routes beside read-all through the app', async () => {
    const read = await app.request('/v1/notifications/read-all', { method: 'POST' });
    const one = await app.request('/v1/notifications/7d0b5a4e-7f77-4c83-8f0b-9d0c1b9b8f1a/read', {
      method: 'POST',
    });
    // No credentials: both reach their routes' authentication, not the 404 of no route.
    expect(read.status).toBe(401);
    expect(one.status).toBe(401);
    expect((await app.request('/v1/notifications/x/unknown', { method: 'POST' })).status).toBe(404);
  });
});

describe('SubtreeRouter on random route tables', () => {
  const segment = fc.constantFrom('a', 'b', 'c', 'read-all');
  const templatePart = fc.oneof(
    { weight: 4, arbitrary: segment },
    { weight: 2, arbitrary: fc.constantFrom(':p', ':q', ':r') },
  );
  // Without wildcards: there Hono's two routers differ on their own (for `/b` beside the routes
  // `/:p` and `/b/*`, the TrieRouter matches both, the RegExpRouter only the first), which says
  // nothing of this router. Kai's own table, wildcards included, is checked above.
  const template = fc.array(templatePart, { minLength: 1, maxLength: 4 }).map((parts) => {
    // A parameter name once per path, as Hono requires.
    const seen = new Set<string>();
    const named = parts.map((part): string => {
      if (!part.startsWith(':')) return part;
      let name: string = part;
      while (seen.has(name)) name = `${name}x`;
      seen.add(name);
      return name;
    });
    return `/${named.join('/')}`;
  });
  const table = fc.array(fc.tuple(fc.constantFrom('GET', 'POST', 'ALL'), template), {
    minLength: 1,
    maxLength: 12,
  });

  it('answers every path as the TrieRouter does, whichever routes were refused', () => {
    let refusing = 0;
    fc.assert(
      fc.property(
        table,
        fc.array(fc.tuple(fc.constantFrom('GET', 'POST'), fc.array(segment, { maxLength: 5 }))),
        (entries, requests) => {
          const routes: Route[] = entries.map(([method, path], i) => [method, path, `h${i}`]);
          const { subtree, trie } = routers(routes);
          subtree.match('GET', '/');
          if (subtree.subtrees.length > 0) refusing += 1;
          for (const [method, segments] of requests) {
            const path = `/${segments.join('/')}`;
            expect(normalize(subtree.match(method, path))).toEqual(
              normalize(trie.match(method, path)),
            );
          }
        },
      ),
      { numRuns: 1500 },
    );
    // Enough of the tables had routes the RegExpRouter refused for the Trie part to be tested.
    expect(refusing).toBeGreaterThan(100);
  });

  it('narrows the Trie to the subtree of a conflict, in either order of the routes', () => {
    for (const order of [
      ['/a/b/c', '/a/:x/d'],
      ['/a/:x/d', '/a/b/c'],
    ]) {
      const { subtree, trie } = routers(order.map((path, i) => ['GET', path, `h${i}`] as Route));
      for (const path of ['/a/b/c', '/a/b/d', '/a/z/d', '/a/z/c']) {
        expect(normalize(subtree.match('GET', path))).toEqual(normalize(trie.match('GET', path)));
      }
      expect(subtree.subtrees.every((s) => s.startsWith('/a/'))).toBe(true);
    }
  });
});

describe('staticPart', () => {
  it('is the path up to its first parameter or wildcard, or the parent of a static path', () => {
    expect(staticPart('/v1/notifications/:id/read')).toBe('/v1/notifications/');
    expect(staticPart('/v1/notifications/read-all')).toBe('/v1/notifications/');
    expect(staticPart('/v1/*')).toBe('/v1/');
    expect(staticPart('/:id')).toBe('/');
    expect(staticPart('/')).toBe('/');
    expect(staticPart('/v1/jobs/:id{[0-9a-f-]+}/events')).toBe('/v1/jobs/');
  });
});

describe('SubtreeRouter when the RegExpRouter refuses a route at the root', () => {
  it('gives every path to the TrieRouter, the `*` route included, and ends', () => {
    const routes: Route[] = [
      ['ALL', '*', 'h0'],
      ['GET', '/read-all/x', 'h1'],
      ['GET', '/:p/y', 'h2'],
    ];
    const { subtree, trie } = routers(routes);
    for (const path of ['/', '/a', '/read-all/x', '/a/y', '/read-all/y']) {
      expect(normalize(subtree.match('GET', path))).toEqual(normalize(trie.match('GET', path)));
    }
    expect(subtree.subtrees).toEqual(['/']);
  });
});
