-- The listing index holds only jobs that have an owner. A page of jobs is always one owner's
-- (RLS puts `owner_id = auth.uid()` in every user's query), so the entries of the service's
-- own jobs (catalog embeddings, housekeeping, jobs enqueued in core) were never read, yet
-- every state change of such a job wrote one: about a fifth of what a claim and a completion
-- cost the server.
drop index public.jobs_owner_created_id_idx;
create index jobs_owner_created_id_idx on public.jobs (owner_id, created_at desc, id desc)
  where owner_id is not null;
