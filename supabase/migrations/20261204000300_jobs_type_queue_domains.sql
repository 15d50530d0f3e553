-- A job's type and queue are checked as domains, when a value is written to them, instead of
-- by table CHECK constraints, which Postgres evaluates again on every update of a row: the
-- two regular expressions ran for each job on its claim, its completion and each progress
-- report, about a tenth of what a claim costs the server. The rules and the constraint names
-- are those of the CHECKs they replace. Two triggers' WHEN clauses name `type`, so they are
-- made again around the change (the catalog's only where it exists, with pgvector); claimed
-- jobs carry the same types.
create domain kai.job_type_name as text
  constraint jobs_type_check
  check (value ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' and length(value) <= 100);
create domain kai.queue_name as text
  constraint jobs_queue_check
  check (value ~ '^[a-z][a-z0-9_-]*$' and length(value) <= 63);

do $domains$
declare
  v_catalog boolean;
begin
  select exists (
    select 1 from pg_catalog.pg_trigger
    where tgname = 'jobs_catalog_item_embedded' and tgrelid = 'public.jobs'::regclass
  ) into v_catalog;

  drop trigger jobs_outcome_event on public.jobs;
  drop trigger if exists jobs_catalog_item_embedded on public.jobs;

  alter table public.jobs
    drop constraint jobs_type_check,
    drop constraint jobs_queue_check,
    alter column type type kai.job_type_name,
    alter column queue type kai.queue_name;

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

  if v_catalog then
    create trigger jobs_catalog_item_embedded
      after update of status on public.jobs
      for each row
      when (
        new.type = 'texture.embed'
        and old.status is distinct from new.status
        and new.status in ('completed', 'dead', 'cancelled')
      )
      execute function kai.catalog_item_embedded();
  end if;
end
$domains$;

alter type kai.claimed_job
  alter attribute type type kai.job_type_name,
  alter attribute queue type kai.queue_name;
