-- Webhook endpoints of users: where Kai sends Standard-Webhooks-signed events.

create table public.webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null,
  url text not null check (length(url) between 8 and 2048 and url ~ '^https?://'),
  description text not null default '' check (length(description) <= 500),
  -- Event types this endpoint receives; empty means all of them.
  event_types text[] not null default '{}' check (cardinality(event_types) <= 100),
  enabled boolean not null default true,
  disabled_reason text check (length(disabled_reason) <= 500),
  disabled_at timestamptz,
  -- whsec_<base64 of 24-64 random bytes>; during a rotation the previous secret signs too.
  secret text not null check (secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$'),
  previous_secret text check (previous_secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$'),
  previous_secret_expires_at timestamptz,
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.webhook_endpoints is 'Users'' webhook endpoints with their signing secrets.';

create index webhook_endpoints_owner_idx on public.webhook_endpoints (owner_id, created_at);

create trigger webhook_endpoints_touch_updated_at
  before update on public.webhook_endpoints
  for each row execute function kai.touch_updated_at();

-- Owners manage their endpoints; the failure counter and disabling bookkeeping are Kai's.
alter table public.webhook_endpoints enable row level security;

create policy webhook_endpoints_own on public.webhook_endpoints
  for all to authenticated
  using (owner_id = (select auth.uid()))
  with check (owner_id = (select auth.uid()));

create policy webhook_endpoints_service_all on public.webhook_endpoints
  for all to service_role using (true) with check (true);

revoke all on public.webhook_endpoints from anon, authenticated;
grant select, delete on public.webhook_endpoints to authenticated;
grant insert (owner_id, url, description, event_types, enabled, secret)
  on public.webhook_endpoints to authenticated;
grant update (url, description, event_types, enabled, disabled_reason, disabled_at,
  consecutive_failures, secret, previous_secret, previous_secret_expires_at)
  on public.webhook_endpoints to authenticated;
grant all on public.webhook_endpoints to service_role;
