-- The API's job submitter inserts many jobs in one transaction; a NOTIFY per row (a plpgsql
-- call each, and each one queued for the commit) was a large share of a submission's cost in
-- Postgres. Such a transaction now announces its new jobs itself, many to a notification
-- (kai.notify_job_changes), with kai.job_changes_batched = 'on' local to it, and the insert
-- trigger stays quiet there. Every other insert notifies per row as before.
drop trigger jobs_notify_insert on public.jobs;
create trigger jobs_notify_insert
  after insert on public.jobs
  for each row
  when (current_setting('kai.job_changes_batched', true) is distinct from 'on')
  execute function kai.notify_job_change();
