/**
 * The domain errors a caller of Kai can see. Each carries a stable `code` that clients may
 * branch on, the HTTP status it maps to at the edge and a short human title. Anything that is
 * not a `KaiError` is an internal failure: logged once with its cause, answered as a bare 500.
 */
export class KaiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  /** Extra members for the problem document, such as the failing fields of a validation. */
  readonly extensions: Record<string, unknown>;

  constructor(
    init: { code: string; status: number; title: string; detail: string },
    options?: { cause?: unknown; extensions?: Record<string, unknown> },
  ) {
    super(init.detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.status = init.status;
    this.title = init.title;
    this.extensions = options?.extensions ?? {};
  }
}

/** A resource that does not exist, or that the caller may not see. */
export class NotFoundError extends KaiError {
  constructor(detail: string) {
    super({ code: 'not_found', status: 404, title: 'Not found', detail });
  }
}

/** Input that failed validation; `fields` names each failing path and why. */
export class ValidationError extends KaiError {
  constructor(detail: string, fields: { path: string; message: string }[]) {
    super(
      { code: 'validation_failed', status: 422, title: 'Validation failed', detail },
      { extensions: { errors: fields } },
    );
  }
}

/** A feature that needs something this database or machine lacks, such as pgvector. */
export class CapabilityUnavailableError extends KaiError {
  readonly capability: string;

  constructor(capability: string, detail: string) {
    super(
      { code: 'capability_unavailable', status: 503, title: 'Capability unavailable', detail },
      { extensions: { capability } },
    );
    this.capability = capability;
  }
}

/** The database did not answer; callers may retry later. */
export class DatabaseUnavailableError extends KaiError {
  constructor(detail: string, cause?: unknown) {
    super(
      { code: 'database_unavailable', status: 503, title: 'Database unavailable', detail },
      { cause },
    );
  }
}

/** The service is up but not ready to take work yet (migrations or the pool still starting). */
export class NotReadyError extends KaiError {
  constructor(detail: string, checks: Record<string, boolean>) {
    super(
      { code: 'not_ready', status: 503, title: 'Not ready', detail },
      { extensions: { checks } },
    );
  }
}

/**
 * A start-up failure with a message fit for one line on the operator's terminal: it names
 * what is wrong and what to do. Never carries secrets.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
