-- The hottest read of the API, GET /v1/jobs/{id} (clients poll it), in one statement: the
-- caller's claims and the role authenticated are set, the job is read under RLS, and both are
-- put back, all inside this function. The API calls it on its own connection, so no BEGIN and
-- COMMIT round trips are needed around it; RLS still decides what the caller sees.
create function kai.find_job_as_caller(p_claims text, p_id uuid)
  returns setof public.jobs
  language plpgsql
  volatile
  security invoker
  set search_path = ''
  as $$
declare
  v_role text := current_setting('role');
  v_claims text := current_setting('request.jwt.claims', true);
begin
  perform set_config('request.jwt.claims', p_claims, true);
  perform set_config('role', 'authenticated', true);

  return query select * from public.jobs where id = p_id;

  perform set_config('role', v_role, true);
  perform set_config('request.jwt.claims', coalesce(v_claims, ''), true);
end
$$;

-- Only the API's own connection calls it; a user switching to authenticated gains nothing.
revoke execute on function kai.find_job_as_caller(text, uuid) from public;
grant execute on function kai.find_job_as_caller(text, uuid) to service_role;
