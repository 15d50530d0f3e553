-- Idempotency keys of POST requests: the first response to a caller's key is kept for a day, so
-- that a retry with the same key and body gets that response again instead of doing the work
-- twice (the `Idempotency-Key` header, as Stripe has it). Only the API touches this table, as
-- the service role; callers never read it directly.
create table kai.idempotency_keys (
  -- Whose key: the authenticated subject. Keys of different callers never meet.
  caller text not null check (length(caller) between 1 and 200),
  key text not null check (length(key) between 1 and 255),
  -- SHA-256 (hex) of the method, path, caller and body hash: the same key with another request
  -- is refused, not replayed.
  fingerprint text not null check (length(fingerprint) = 64),
  method text not null,
  path text not null check (length(path) <= 2000),
  -- in_progress: the first request still runs; completed: its response below is stored.
  state text not null default 'in_progress' check (state in ('in_progress', 'completed')),
  response_status smallint check (response_status between 100 and 599),
  response_headers jsonb,
  -- Base64 of the response body, so any media type survives both drivers unchanged.
  response_body text,
  created_at timestamptz not null default now(),
  -- Who holds the key while its request runs, and since when: only the holder may store the
  -- response or release the key, and a holder that died frees it after a while.
  lock_token text not null,
  locked_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (caller, key),
  check (state = 'in_progress' or response_status is not null)
);

comment on table kai.idempotency_keys is
  'The stored first responses of POST requests with an Idempotency-Key header; kept 24 h.';

create index idempotency_keys_expires_idx on kai.idempotency_keys (expires_at);

alter table kai.idempotency_keys enable row level security;

create policy idempotency_keys_service_all on kai.idempotency_keys
  for all to service_role
  using (true)
  with check (true);

revoke all on kai.idempotency_keys from anon, authenticated;
grant all on kai.idempotency_keys to service_role;

-- Deletes expired keys, at most `batch_size` per call; returns how many went. Housekeeping
-- calls it again while it returns `batch_size`.
create function kai.delete_expired_idempotency_keys(batch_size integer default 1000)
  returns integer
  language sql
  set search_path = ''
  as $$
  with expired as (
    select caller, key from kai.idempotency_keys
    where expires_at <= now()
    order by expires_at
    limit batch_size
    for update skip locked
  ), deleted as (
    delete from kai.idempotency_keys k
    using expired e
    where k.caller = e.caller and k.key = e.key
    returning 1
  )
  select count(*)::integer from deleted
$$;

revoke all on function kai.delete_expired_idempotency_keys(integer) from public;
grant execute on function kai.delete_expired_idempotency_keys(integer) to service_role;
