-- Users write jobs and API keys only through Kai's API, never straight through PostgREST: the
-- API's rate limits, idempotency keys and payload checks must not be skippable. The API marks
-- its own user-scoped transactions with kai.via_api = 'on' (asCaller sets it, local to the
-- transaction); a PostgREST client cannot set that parameter, so for it these tables stay
-- read-only, as the jobs table was before. Which rows a user may write is still decided by
-- the RLS policies; these triggers only add where the write may come from.

create function kai.require_api_for_user_writes() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if current_user = 'authenticated'
     and coalesce(current_setting('kai.via_api', true), '') <> 'on' then
    raise exception 'permission denied for table %: users write it through Kai''s API',
      tg_table_name
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;

-- Named to sort first: triggers of one event fire in name order, and this refusal should be
-- what a PostgREST client hears, before any check of what the write would change.
create trigger jobs_api_only_insert
  before insert on public.jobs
  for each row execute function kai.require_api_for_user_writes();

create trigger jobs_api_only_update
  before update on public.jobs
  for each row execute function kai.require_api_for_user_writes();

create trigger api_keys_api_only_write
  before insert or update on public.api_keys
  for each row execute function kai.require_api_for_user_writes();
