import { KaiError } from '../errors.ts';

/**
 * A request without valid credentials (401). `code` says which: `unauthorized` (none sent),
 * `invalid_token` (a JWT that failed verification) or `invalid_api_key` (unknown, expired or
 * revoked). The detail never echoes the credential.
 */
export class UnauthorizedError extends KaiError {
  constructor(
    code: 'unauthorized' | 'invalid_token' | 'invalid_api_key',
    detail: string,
    cause?: unknown,
  ) {
    super({ code, status: 401, title: 'Unauthorized', detail }, { cause });
  }
}

/** Valid credentials that lack a scope the route needs (403 `insufficient_scope`). */
export class InsufficientScopeError extends KaiError {
  constructor(required: string) {
    super(
      {
        code: 'insufficient_scope',
        status: 403,
        title: 'Insufficient scope',
        detail: `This request needs the scope ${required}, which these credentials lack.`,
      },
      { extensions: { requiredScope: required } },
    );
  }
}

/** Credentials of a kind the route does not take, such as an API key managing API keys. */
export class ForbiddenError extends KaiError {
  constructor(detail: string) {
    super({ code: 'forbidden', status: 403, title: 'Forbidden', detail });
  }
}

/** The keys to verify credentials with cannot be had right now (503 `auth_unavailable`). */
export class AuthUnavailableError extends KaiError {
  constructor(detail: string, cause?: unknown) {
    super({ code: 'auth_unavailable', status: 503, title: 'Auth unavailable', detail }, { cause });
  }
}
