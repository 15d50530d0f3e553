-- The public API's auth and user-scoped writes: API keys (stored hashed), and the policies that
-- let a signed-in user, as role authenticated, submit and cancel their own jobs. The API runs
-- user-scoped queries as that role with the caller's claims, so these policies are the guard.

create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  -- The user the key acts for (auth.uid() of the JWT that created it). Not a foreign key, as
  -- for jobs: locally minted tokens name users that auth.users may not hold.
  owner_id uuid not null,
  name text not null check (length(name) between 1 and 100),
  -- The first characters of the key, to tell keys apart; the rest is never stored.
  prefix text not null check (prefix ~ '^kai_[A-Za-z0-9_-]{1,16}$'),
  -- Hex SHA-256 of the whole key.
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  scopes text[] not null default '{}' check (cardinality(scopes) <= 50),
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz
);

comment on table public.api_keys is 'Kai API keys (kai_...): only their SHA-256 is kept.';

create index api_keys_owner_created_idx on public.api_keys (owner_id, created_at desc);

alter table public.api_keys enable row level security;

create policy api_keys_select_own on public.api_keys
  for select to authenticated
  using (owner_id = (select auth.uid()));

create policy api_keys_insert_own on public.api_keys
  for insert to authenticated
  with check (owner_id = (select auth.uid()) and revoked_at is null and last_used_at is null);

-- The only update an owner may make is a revocation, and a revoked key stays revoked.
create policy api_keys_revoke_own on public.api_keys
  for update to authenticated
  using (owner_id = (select auth.uid()))
  with check (owner_id = (select auth.uid()) and revoked_at is not null);

create policy api_keys_service_all on public.api_keys
  for all to service_role
  using (true)
  with check (true);

revoke all on public.api_keys from anon, authenticated;
-- Owners never read the hash back.
grant select (id, owner_id, name, prefix, scopes, created_at, last_used_at, expires_at,
              revoked_at)
  on public.api_keys to authenticated;
grant insert (owner_id, name, prefix, key_hash, scopes, expires_at) on public.api_keys
  to authenticated;
grant update (revoked_at) on public.api_keys to authenticated;
grant all on public.api_keys to service_role;

-- Jobs: owners submit their own. Only the submission's columns may be set; status, attempts,
-- leases and results keep their defaults, so a direct insert (PostgREST) cannot forge state.
create policy jobs_insert_own on public.jobs
  for insert to authenticated
  with check (owner_id = (select auth.uid()) and status = 'queued' and attempts = 0);

grant insert (id, type, payload, owner_id, queue, model, priority, run_at, max_attempts,
              timeout_ms, idempotency_key)
  on public.jobs to authenticated;

-- Jobs: owners cancel their own. The columns a cancellation writes are granted; the trigger
-- below makes sure that a cancellation is all an owner's update can be.
create policy jobs_cancel_own on public.jobs
  for update to authenticated
  using (owner_id = (select auth.uid()))
  with check (owner_id = (select auth.uid()));

grant update (status, finished_at, cancel_requested_at) on public.jobs to authenticated;

create function kai.guard_owner_job_update() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if current_user <> 'authenticated' then
    return new;
  end if;

  -- A waiting job may become cancelled; a running one may have its cancellation requested.
  if new.status is distinct from old.status
     and not (new.status = 'cancelled' and old.status in ('queued', 'failed')) then
    raise exception 'an owner may only cancel a job, not move it from % to %',
      old.status, new.status
      using errcode = 'insufficient_privilege';
  end if;
  if new.cancel_requested_at is distinct from old.cancel_requested_at
     and (old.cancel_requested_at is not null or old.status <> 'running') then
    raise exception 'a cancellation can be requested only once, for a running job'
      using errcode = 'insufficient_privilege';
  end if;
  if new.finished_at is distinct from old.finished_at and new.status <> 'cancelled' then
    raise exception 'an owner may set finished_at only by cancelling'
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;

create trigger jobs_guard_owner_update
  before update on public.jobs
  for each row execute function kai.guard_owner_job_update();

-- Listing jobs pages by (created_at, id) per owner, newest first.
create index jobs_owner_created_id_idx on public.jobs (owner_id, created_at desc, id desc);
