-- A job whose cancellation was asked for while it ran, and whose lease then expired, was sent
-- back to the queue like any other and ran again. It ends cancelled instead, as a failing
-- attempt of such a job already does.
create or replace function kai.reclaim_expired_leases() returns integer
  language plpgsql
  set search_path = ''
  as $$
declare
  v_count integer;
begin
  update public.jobs set
    status = case
      when cancel_requested_at is not null then 'cancelled'
      when attempts >= max_attempts then 'dead'
      else 'failed'
    end,
    error = jsonb_build_object(
      'code', 'lease_expired',
      'message', 'The worker stopped renewing its lease before the job finished.',
      'workerId', worker_id
    ),
    finished_at = case
      when cancel_requested_at is not null or attempts >= max_attempts then now()
    end,
    run_at = now(),
    lease_token = null,
    lease_expires_at = null
  where id in (
    select id from public.jobs
    where status = 'running' and lease_expires_at < now()
    for update skip locked
  );
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
