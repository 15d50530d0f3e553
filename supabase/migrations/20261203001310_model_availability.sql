-- What the API may know of the pools' models without reading kai.pool_models itself: whether
-- any pool is live and whether one serves a given model ready, as two booleans. Submissions of
-- job types that refuse to wait for missing weights ask this as the submitting user; the
-- functions live in public because API roles have no usage on schema kai.
create function public.kai_model_availability(model_name text, ttl_ms bigint)
  returns table (live boolean, ready boolean)
  language sql
  stable
  security definer
  set search_path = ''
  as $$
    select
      exists (
        select 1 from kai.pool_models
        where reported_at > now() - ttl_ms * interval '1 millisecond'
      ),
      exists (
        select 1 from kai.pool_models
        where name = model_name and ready
          and reported_at > now() - ttl_ms * interval '1 millisecond'
      )
  $$;

revoke all on function public.kai_model_availability(text, bigint) from public, anon;
grant execute on function public.kai_model_availability(text, bigint)
  to authenticated, service_role;
