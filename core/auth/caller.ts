/** How a request proved who it is. */
export type AuthKind = 'jwt' | 'api_key';

/**
 * The authenticated caller of a request, set by the auth middleware as the context variable
 * `auth`. `subject` is the user's id (a UUID, `auth.uid()` in RLS policies); for an API key it
 * is the key's owner.
 */
export interface Auth {
  subject: string;
  kind: AuthKind;
  /** What the caller may do; a user session (JWT) holds `*`, an API key its own list. */
  scopes: readonly string[];
  /** The claims Postgres sees in `request.jwt.claims` when work runs as this caller. */
  claims: Record<string, unknown>;
  /** The API key's id when `kind` is `api_key`. */
  apiKeyId?: string | undefined;
}

/** A scope is `<resource>:<action>`, such as `jobs:read`; `*` and `jobs:*` are wildcards. */
export const SCOPE_PATTERN = /^(\*|[a-z][a-z0-9_.-]{0,62}:(\*|[a-z][a-z0-9_.-]{0,62}))$/;

/** The scopes every user session holds. */
export const ALL_SCOPES: readonly string[] = ['*'];

/** True when `granted` covers `wanted`: the same scope, `<resource>:*` or `*`. */
export function scopeCovers(granted: readonly string[], wanted: string): boolean {
  const [resource] = wanted.split(':');
  return granted.some((s) => s === '*' || s === wanted || s === `${resource}:*`);
}
