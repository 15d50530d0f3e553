-- GET /v1/jobs/{id} gathers the reads of one event-loop turn: this reads all of one caller's
-- asked jobs in one statement, as kai.find_job_as_caller reads one. Setting the claims and
-- the role is most of that function's cost (about 0.2 ms a call), so a caller polling several
-- jobs, or many requests of one caller, pay it once. The caller's claims and the role
-- authenticated are set, the jobs are read under RLS, and both are put back.
create function kai.find_jobs_as_caller(p_claims text, p_ids uuid[])
  returns setof public.jobs
  language plpgsql
  volatile
  security invoker
  set search_path = ''
  as $$
declare
  v_role text := current_setting('role');
  v_claims text := current_setting('request.jwt.claims', true);
  v_id uuid;
begin
  perform set_config('request.jwt.claims', p_claims, true);
  perform set_config('role', 'authenticated', true);

  -- One primary-key lookup per id. A set-based form (`id = any(p_ids)`, or a join over
  -- unnest) gets a plan that plpgsql caches for the session: planned while the table is
  -- small, that plan scans the whole table, and keeps doing so once it is large.
  foreach v_id in array p_ids loop
    return query select * from public.jobs where id = v_id;
  end loop;

  perform set_config('role', v_role, true);
  perform set_config('request.jwt.claims', coalesce(v_claims, ''), true);
end
$$;

-- Only the API's own connection calls it; a user switching to authenticated gains nothing.
revoke execute on function kai.find_jobs_as_caller(text, uuid[]) from public;
grant execute on function kai.find_jobs_as_caller(text, uuid[]) to service_role;
