import { KaiError } from '../errors.ts';

/** A known path asked with a method it does not take (405 `method_not_allowed`). */
export class MethodNotAllowedError extends KaiError {
  readonly allow: readonly string[];

  constructor(method: string, path: string, allow: readonly string[]) {
    super(
      {
        code: 'method_not_allowed',
        status: 405,
        title: 'Method not allowed',
        detail: `${path} does not take ${method}; it takes ${allow.join(', ')}.`,
      },
      { extensions: { allow } },
    );
    this.allow = allow;
  }
}

/** Compiled patterns by route path: 404s are common, compiling each time is not cheap. */
const patterns = new Map<string, RegExp>();

/** Hono's route pattern (`/v1/jobs/:id`, `:id{[0-9]+}`, `*`) as an anchored expression. */
function patternOf(path: string): RegExp {
  const known = patterns.get(path);
  if (known) return known;
  const pattern = compile(path);
  patterns.set(path, pattern);
  return pattern;
}

function compile(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      const param = /^:[^{]+(?:\{(.+)\})?\??$/.exec(segment);
      if (param) return param[1] ? `(?:${param[1]})` : '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/**
 * The methods that routes of `app` take at `path`, sorted; empty when no route has the path.
 * Middleware (method `ALL`) does not count. Read from `app.routes` at the call, so routes
 * mounted after the app was built are seen too.
 */
export function allowedMethods(
  app: { routes: readonly { method: string; path: string }[] },
  path: string,
): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    if (patternOf(route.path).test(path)) methods.add(route.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
