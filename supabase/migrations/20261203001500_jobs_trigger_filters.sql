-- The jobs table's row triggers decide in their WHEN clause whether they have anything to do,
-- so the writes that concern them not (the pool's claims, completions and heartbeats, many
-- hundred rows a statement) never enter plpgsql for them.

-- Outcome events are addressed to the job's owner; the relay's fan-out finds no one to tell
-- for a job without one (system work), nor for Kai's internal types (`kai.*`).
drop trigger jobs_outcome_event on public.jobs;
create trigger jobs_outcome_event
  after update of status on public.jobs
  for each row
  when (
    old.status is distinct from new.status
    and new.status in ('completed', 'failed', 'dead')
    and new.owner_id is not null
    and new.type not like 'kai.%'
  )
  execute function kai.job_outcome_event();

-- The guards on users' own writes concern only writes made as `authenticated`.
drop trigger jobs_api_only_insert on public.jobs;
create trigger jobs_api_only_insert
  before insert on public.jobs
  for each row
  when (current_user = 'authenticated')
  execute function kai.require_api_for_user_writes();

drop trigger jobs_api_only_update on public.jobs;
create trigger jobs_api_only_update
  before update on public.jobs
  for each row
  when (current_user = 'authenticated')
  execute function kai.require_api_for_user_writes();

drop trigger jobs_guard_owner_update on public.jobs;
create trigger jobs_guard_owner_update
  before update on public.jobs
  for each row
  when (current_user = 'authenticated')
  execute function kai.guard_owner_job_update();

-- Listing pages by (owner_id, created_at, id); the older index on (owner_id, created_at) is a
-- prefix of that one, and every index is one more write per job state change.
drop index public.jobs_owner_created_idx;
