import type { Queryable } from '../db/database.ts';
import { NotFoundError } from '../errors.ts';
import { recordEvent } from '../events/record-event.ts';
import { generateWebhookSecret } from './webhook-signature.ts';

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** A webhook endpoint without its secrets, as listings show it. */
export interface WebhookEndpoint {
  id: string;
  ownerId: string;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: Date | null;
  consecutiveFailures: number;
  /** During a rotation: until when the previous secret signs too. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An endpoint with its secrets, for signing. */
export interface SigningEndpoint extends WebhookEndpoint {
  secret: string;
  previousSecret: string | null;
}

/** A row of `public.webhook_endpoints`. */
export interface EndpointRow {
  id: string;
  owner_id: string;
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | string | null;
  consecutive_failures: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const date = (value: Date | string | null) => (value === null ? null : new Date(value));

/** Maps a row to an endpoint with its secrets. */
export function endpointFromRow(row: EndpointRow): SigningEndpoint {
  return {
    id: row.id,
    ownerId: row.owner_id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    disabledAt: date(row.disabled_at),
    consecutiveFailures: row.consecutive_failures,
    previousSecretExpiresAt: date(row.previous_secret_expires_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    secret: row.secret,
    previousSecret: row.previous_secret,
  };
}

/** The endpoint without its secrets. */
export function publicEndpoint(endpoint: SigningEndpoint): WebhookEndpoint {
  const { secret: _secret, previousSecret: _previous, ...rest } = endpoint;
  return rest;
}

/** The secrets that sign now: the current one, and the previous one inside its overlap. */
export function signingSecrets(endpoint: SigningEndpoint, now = new Date()): string[] {
  const previousLive =
    endpoint.previousSecret !== null &&
    endpoint.previousSecretExpiresAt !== null &&
    endpoint.previousSecretExpiresAt.getTime() > now.getTime();
  return previousLive ? [endpoint.secret, endpoint.previousSecret as string] : [endpoint.secret];
}

/** Whether an endpoint takes an event type: an empty filter takes all; `job.*` takes `job.x`. */
export function endpointTakes(eventTypes: readonly string[], type: string): boolean {
  if (eventTypes.length === 0) return true;
  return eventTypes.some(
    (t) => t === type || (t.endsWith('.*') && type.startsWith(t.slice(0, -1))),
  );
}

/** What creating an endpoint takes. */
export interface EndpointInput {
  url: string;
  description?: string;
  eventTypes?: string[];
  enabled?: boolean;
  /** A `whsec_` secret of the caller's; generated when omitted. */
  secret?: string;
}

/** Creates an endpoint for `ownerId`; the caller checked the URL with the SSRF guard. */
export async function createEndpoint(
  db: Queryable,
  ownerId: string,
  input: EndpointInput,
): Promise<SigningEndpoint> {
  const [row] = await db.query<EndpointRow>(
    `insert into public.webhook_endpoints (owner_id, url, description, event_types, enabled, secret)
     values ($1, $2, $3, $4, $5, $6)
     returning *`,
    [
      ownerId,
      input.url,
      input.description ?? '',
      input.eventTypes ?? [],
      input.enabled ?? true,
      input.secret ?? generateWebhookSecret(),
    ],
  );
  if (!row) throw new Error('The endpoint insert returned no row.');
  return endpointFromRow(row);
}

/** Lists the endpoints the caller may see (RLS decides), oldest first. */
export async function listEndpoints(db: Queryable): Promise<SigningEndpoint[]> {
  const rows = await db.query<EndpointRow>(
    'select * from public.webhook_endpoints order by created_at, id',
  );
  return rows.map(endpointFromRow);
}

/** One endpoint, or `NotFoundError`. */
export async function getEndpoint(db: Queryable, id: string): Promise<SigningEndpoint> {
  const [row] = await db.query<EndpointRow>(
    'select * from public.webhook_endpoints where id = $1',
    [id],
  );
  if (!row) throw new NotFoundError(`There is no webhook endpoint ${id}.`);
  return endpointFromRow(row);
}

/** What an update may change. Enabling an endpoint clears its failure count. */
export type EndpointPatch = Partial<
  Pick<EndpointInput, 'url' | 'description' | 'eventTypes' | 'enabled'>
>;

/** Updates an endpoint, or `NotFoundError`. */
export async function updateEndpoint(
  db: Queryable,
  id: string,
  patch: EndpointPatch,
): Promise<SigningEndpoint> {
  const [row] = await db.query<EndpointRow>(
    `update public.webhook_endpoints set
       url = coalesce($2, url),
       description = coalesce($3, description),
       event_types = coalesce($4, event_types),
       enabled = coalesce($5, enabled),
       disabled_reason = case when $5 then null else disabled_reason end,
       disabled_at = case when $5 then null else disabled_at end,
       consecutive_failures = case when $5 then 0 else consecutive_failures end
     where id = $1
     returning *`,
    [
      id,
      patch.url ?? null,
      patch.description ?? null,
      patch.eventTypes ?? null,
      patch.enabled ?? null,
    ],
  );
  if (!row) throw new NotFoundError(`There is no webhook endpoint ${id}.`);
  return endpointFromRow(row);
}

/** Deletes an endpoint and its deliveries, or `NotFoundError`. */
export async function deleteEndpoint(db: Queryable, id: string): Promise<void> {
  const rows = await db.query('delete from public.webhook_endpoints where id = $1 returning id', [
    id,
  ]);
  if (rows.length === 0) throw new NotFoundError(`There is no webhook endpoint ${id}.`);
}

/**
 * Rotates an endpoint's secret: a new one signs from now on, and the old one keeps signing
 * beside it for `overlapMs` (24 h), so receivers can switch without missing a message.
 */
export async function rotateEndpointSecret(
  db: Queryable,
  id: string,
  options: { secret?: string; overlapMs?: number } = {},
): Promise<SigningEndpoint> {
  const [row] = await db.query<EndpointRow>(
    `update public.webhook_endpoints set
       previous_secret = secret,
       previous_secret_expires_at = now() + $3 * interval '1 millisecond',
       secret = $2
     where id = $1
     returning *`,
    [id, options.secret ?? generateWebhookSecret(), options.overlapMs ?? ROTATION_OVERLAP_MS],
  );
  if (!row) throw new NotFoundError(`There is no webhook endpoint ${id}.`);
  return endpointFromRow(row);
}

/**
 * Disables an endpoint with a reason and, in the same transaction, records
 * `webhook.endpoint.disabled` for its owner. Does nothing to an endpoint already disabled.
 */
export async function disableEndpoint(tx: Queryable, id: string, reason: string): Promise<boolean> {
  const [row] = await tx.query<EndpointRow>(
    `update public.webhook_endpoints set
       enabled = false, disabled_reason = $2, disabled_at = now()
     where id = $1 and enabled
     returning *`,
    [id, reason.slice(0, 500)],
  );
  if (!row) return false;

  await recordEvent(tx, {
    type: 'webhook.endpoint.disabled',
    ownerId: row.owner_id,
    subject: row.id,
    data: { endpointId: row.id, url: row.url, reason },
  });
  return true;
}
