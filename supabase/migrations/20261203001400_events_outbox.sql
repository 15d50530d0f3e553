-- The outbox: domain events written in the same transaction as the change that caused them.
-- The relay (core/events) claims them with SKIP LOCKED and fans each out into deliveries.

create table kai.events (
  id uuid primary key default gen_random_uuid(),
  type text not null check (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' and length(type) <= 100),
  -- The user the event concerns (a job's owner, an endpoint's owner); null for system events.
  owner_id uuid,
  -- What the event is about, such as the job's id, for filtering and replay.
  subject text check (length(subject) <= 200),
  data jsonb not null default '{}',
  -- Critical events bypass notification opt-outs and quiet hours.
  critical boolean not null default false,
  occurred_at timestamptz not null default now(),
  -- Relay state: claimed by a relay until claim_expires_at; relayed once fanned out.
  relay_attempts integer not null default 0,
  claim_expires_at timestamptz,
  relayed_at timestamptz,
  relay_error text
);

comment on table kai.events is 'Outbox of domain events; the relay fans each out into deliveries.';

create index events_pending_idx on kai.events (occurred_at) where relayed_at is null;
create index events_owner_idx on kai.events (owner_id, occurred_at desc);

alter table kai.events enable row level security;
create policy events_service_all on kai.events
  for all to service_role using (true) with check (true);
grant all on kai.events to service_role;

-- Every new event wakes the relays (delivered at commit, so a rolled-back change wakes no one).
create function kai.notify_event() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  perform pg_notify('kai_events', json_build_object('id', new.id, 'type', new.type)::text);
  return null;
end
$$;

create trigger events_notify_insert
  after insert on kai.events
  for each row execute function kai.notify_event();

-- Job outcomes become events in the transaction that settles the job. Kai's internal job types
-- (`kai.*`) announce nothing, so that their own outcomes cannot feed back into deliveries.
create function kai.job_outcome_event() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if new.type like 'kai.%' then
    return null;
  end if;

  insert into kai.events (type, owner_id, subject, data, critical)
  values (
    'job.' || new.status,
    new.owner_id,
    new.id::text,
    jsonb_build_object(
      'jobId', new.id,
      'type', new.type,
      'status', new.status,
      'attempts', new.attempts,
      'maxAttempts', new.max_attempts,
      'result', case when new.status = 'completed' then new.result end,
      'error', case when new.status <> 'completed' then new.error end,
      'finishedAt', new.finished_at
    ),
    new.status = 'dead'
  );
  return null;
end
$$;

create trigger jobs_outcome_event
  after update of status on public.jobs
  for each row
  when (old.status is distinct from new.status and new.status in ('completed', 'failed', 'dead'))
  execute function kai.job_outcome_event();
