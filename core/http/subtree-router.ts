import { type Result, type Router, UnsupportedPathError } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { TrieRouter } from 'hono/router/trie-router';

type Route<T> = [method: string, path: string, handler: T];

/**
 * Hono's RegExpRouter where it can, its TrieRouter for the path subtrees it cannot take.
 *
 * The RegExpRouter matches a path with one regular expression (about 0.3 us for Kai's routes
 * on this machine, against 2.2 us for the TrieRouter, which walks its nodes and allocates
 * on the way), but it refuses some sets of routes, such as a static segment and a parameter
 * side by side with more after them (`/v1/notifications/read-all` beside
 * `/v1/notifications/:id/read`). Hono's SmartRouter then takes the TrieRouter for every path.
 * This router instead gives the TrieRouter only the subtrees where a route was refused: the
 * static part of that route's path, from its root to the segment before its first parameter or
 * wildcard. Paths in such a subtree are matched by a TrieRouter of every route; all other paths
 * by a RegExpRouter of every route but those whose static part lies in a subtree (which match
 * no path outside it). Both answer a path's handlers in the order they were added. A path
 * outside every subtree gets what the RegExpRouter gives, as it would under the SmartRouter of
 * routes it took whole; the two routers differ only in corners (a wildcard route beside a
 * parameter route at its root: `/b` beside `/:p` and `/b/*`), and on Kai's routes the answers
 * are tested equal to the TrieRouter's for every route and random paths.
 */
export class SubtreeRouter<T> implements Router<T> {
  name = 'SubtreeRouter';
  #routes: Route<T>[] | undefined = [];
  #subtrees: string[] = [];
  #regExp: Router<T> | undefined;
  #trie: Router<T> | undefined;

  add(method: string, path: string, handler: T): void {
    if (!this.#routes) throw new Error('SubtreeRouter: routes cannot be added after a match.');
    this.#routes.push([method, path, handler]);
  }

  match(method: string, path: string): Result<T> {
    if (this.#routes) this.#build(this.#routes);
    for (const subtree of this.#subtrees) {
      if (path.startsWith(subtree)) return (this.#trie as Router<T>).match(method, path);
    }
    return (this.#regExp as Router<T>).match(method, path);
  }

  /** The paths of the subtrees the TrieRouter matches, once the first match has built them. */
  get subtrees(): readonly string[] {
    return this.#subtrees;
  }

  #build(routes: Route<T>[]): void {
    // A refused route lies outside every subtree so far (those inside are not added), so its
    // static part is a new subtree that leaves it out: each try adds fewer routes, and the
    // subtree `/` would leave none.
    const subtrees: string[] = [];
    let regExp: RegExpRouter<T> | undefined;
    while (regExp === undefined) {
      const candidate = new RegExpRouter<T>();
      const refused = addAll(candidate, routes, subtrees);
      if (refused === undefined) regExp = candidate;
      else subtrees.push(staticPart(refused));
    }

    if (subtrees.length > 0) {
      const trie = new TrieRouter<T>();
      for (const [method, path, handler] of routes) trie.add(method, path, handler);
      this.#trie = trie;
    }
    this.#regExp = regExp;
    this.#subtrees = subtrees;
    this.#routes = undefined;
    this.name = subtrees.length > 0 ? 'SubtreeRouter (RegExp + Trie)' : 'SubtreeRouter (RegExp)';
  }
}

/**
 * Adds the routes outside `subtrees` to `router` and builds its matcher: the path of the first
 * route it refused, or undefined when it took them all.
 */
function addAll<T>(
  router: RegExpRouter<T>,
  routes: readonly Route<T>[],
  subtrees: readonly string[],
): string | undefined {
  for (const [method, path, handler] of routes) {
    // `/` holds every route, `*` included, whose path does not start with it.
    if (subtrees.some((subtree) => subtree === '/' || path.startsWith(subtree))) continue;
    try {
      router.add(method, path, handler);
    } catch (error) {
      if (error instanceof UnsupportedPathError) return path;
      throw error;
    }
  }
  try {
    // The matchers are built at the first match; a refusal there names no route: the root.
    router.match('GET', '/');
  } catch (error) {
    if (error instanceof UnsupportedPathError) return '/';
    throw error;
  }
  return undefined;
}

/**
 * The static part of a route's path: its segments up to the one before the first parameter
 * or wildcard, with a closing slash (`/v1/notifications/:id/read` is `/v1/notifications/`); a
 * path with neither is its parent (`/v1/notifications/read-all` is `/v1/notifications/`).
 */
export function staticPart(path: string): string {
  const segments = path.split('/');
  const dynamic = segments.findIndex((segment) => /[:*{(]/.test(segment));
  const kept = dynamic === -1 ? segments.slice(0, -1) : segments.slice(0, dynamic);
  const prefix = kept.join('/');
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}
