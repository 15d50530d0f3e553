-- Studies end (core/studies/complete-study.ts): explicitly, or when their trial budget
-- (`max_trials`, as Optuna's n_trials) of finished trials is spent. A study is `running` until
-- then and `completed` for good after; its completion and its `study.completed` event are
-- written in one transaction by Kai's code.

alter table public.studies
  add column status text not null default 'running',
  add column completed_at timestamptz,
  -- Finished trials (complete, pruned or failed) after which the study completes; null: none.
  add column max_trials integer;

alter table public.studies
  add constraint studies_status_check check (status in ('running', 'completed')),
  add constraint studies_completed_at_check
    check ((status = 'completed') = (completed_at is not null)),
  add constraint studies_max_trials_check check (max_trials between 1 and 100000);

create index studies_owner_status_idx on public.studies (owner_id, status, created_at desc);

-- A study starts running, and a completed study stays completed. Users (PostgREST's role
-- `authenticated`) end a study only through Kai's API (`kai.via_api`, as for jobs), which
-- records `study.completed` with it; a straight update would end it without telling anyone.
create function kai.guard_study_status() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    if new.status <> 'running' or new.completed_at is not null then
      raise exception 'a new study is running; end it with POST /v1/studies/{id}/complete'
        using errcode = 'check_violation';
    end if;
    return new;
  end if;

  if old.status = 'completed' then
    raise exception 'study % is completed and stays so; create a new study to search on',
      old.id
      using errcode = 'check_violation';
  end if;
  if current_user = 'authenticated'
     and coalesce(current_setting('kai.via_api', true), '') <> 'on' then
    raise exception 'permission denied for table studies: users end studies through Kai''s API'
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;

create trigger studies_guard_status_insert
  before insert on public.studies
  for each row execute function kai.guard_study_status();

create trigger studies_guard_status_update
  before update of status, completed_at on public.studies
  for each row
  when (old.status is distinct from new.status
        or old.completed_at is distinct from new.completed_at)
  execute function kai.guard_study_status();
