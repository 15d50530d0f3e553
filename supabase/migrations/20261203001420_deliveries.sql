-- Deliveries: one per event and destination (a webhook endpoint, an email, an SMS, a push),
-- each with its own retry state, and every attempt recorded.

create table public.deliveries (
  id uuid primary key default gen_random_uuid(),
  event_id uuid not null,
  event_type text not null,
  channel text not null check (channel in ('webhook', 'email', 'sms', 'push')),
  -- The user who sees this delivery: the endpoint's owner or the notified user.
  owner_id uuid,
  endpoint_id uuid references public.webhook_endpoints (id) on delete cascade,
  -- The email address, phone number or push subscription id; null for webhooks.
  recipient text check (length(recipient) <= 2048),
  -- What is sent: the webhook's JSON body, or the rendered message.
  payload jsonb not null,
  -- pending: waiting for the transport; delivering: an attempt is out; retrying: the last
  -- attempt failed and another is scheduled; delivered; dead: retries exhausted (replayable);
  -- cancelled: the endpoint was disabled or deleted before it could be sent.
  status text not null default 'pending'
    check (status in ('pending', 'delivering', 'retrying', 'delivered', 'dead', 'cancelled')),
  attempts integer not null default 0 check (attempts >= 0),
  max_attempts integer not null check (max_attempts between 1 and 100),
  -- Not sent before this (quiet hours, Retry-After); null means at once.
  deliver_after timestamptz,
  next_attempt_at timestamptz,
  last_status_code integer,
  last_error text check (length(last_error) <= 2000),
  -- Which replay this is: 0 for the original, n for the n-th replay.
  replays integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  delivered_at timestamptz,
  dead_at timestamptz,
  unique nulls not distinct (event_id, channel, endpoint_id, recipient)
);

comment on table public.deliveries is 'One event to one destination, with its retry state.';

create index deliveries_endpoint_idx on public.deliveries (endpoint_id, created_at desc);
create index deliveries_owner_idx on public.deliveries (owner_id, created_at desc);
create index deliveries_dead_idx on public.deliveries (dead_at) where status = 'dead';

create trigger deliveries_touch_updated_at
  before update on public.deliveries
  for each row execute function kai.touch_updated_at();

create table public.delivery_attempts (
  id bigint generated always as identity primary key,
  delivery_id uuid not null references public.deliveries (id) on delete cascade,
  owner_id uuid,
  attempt integer not null check (attempt >= 1),
  started_at timestamptz not null,
  duration_ms integer not null check (duration_ms >= 0),
  -- The HTTP status of the destination's answer; null when none came (timeout, refused).
  status_code integer,
  ok boolean not null,
  error text check (length(error) <= 2000),
  -- The start of the answer's body, capped.
  response_excerpt text check (length(response_excerpt) <= 4096)
);

create index delivery_attempts_delivery_idx on public.delivery_attempts (delivery_id, attempt);

-- Owners read their deliveries and attempts; Kai writes them.
alter table public.deliveries enable row level security;
alter table public.delivery_attempts enable row level security;

create policy deliveries_select_own on public.deliveries
  for select to authenticated using (owner_id = (select auth.uid()));
create policy deliveries_service_all on public.deliveries
  for all to service_role using (true) with check (true);
create policy delivery_attempts_select_own on public.delivery_attempts
  for select to authenticated using (owner_id = (select auth.uid()));
create policy delivery_attempts_service_all on public.delivery_attempts
  for all to service_role using (true) with check (true);

revoke all on public.deliveries, public.delivery_attempts from anon, authenticated;
grant select on public.deliveries, public.delivery_attempts to authenticated;
grant all on public.deliveries, public.delivery_attempts to service_role;

-- The local transport's queue: QStash-shaped messages (destination, body, retries, delay,
-- deduplication id, flow-control key, callbacks) that Kai itself delivers when QStash is not
-- used. Claimed with SKIP LOCKED by the transport's loop.
create table kai.transport_messages (
  id uuid primary key default gen_random_uuid(),
  destination text not null,
  body text not null,
  deduplication_id text unique,
  flow_control_key text,
  callback text,
  failure_callback text,
  retries integer not null default 3 check (retries between 0 and 100),
  retried integer not null default 0,
  not_before timestamptz not null default now(),
  status text not null default 'queued' check (status in ('queued', 'active', 'done', 'failed')),
  claim_expires_at timestamptz,
  last_status integer,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);

create index transport_messages_ready_idx on kai.transport_messages (not_before)
  where status in ('queued', 'active');

alter table kai.transport_messages enable row level security;
create policy transport_messages_service_all on kai.transport_messages
  for all to service_role using (true) with check (true);
grant all on kai.transport_messages to service_role;

create function kai.notify_transport_message() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform pg_notify('kai_transport', new.id::text);
  return null;
end
$$;

create trigger transport_messages_notify_insert
  after insert on kai.transport_messages
  for each row execute function kai.notify_transport_message();
