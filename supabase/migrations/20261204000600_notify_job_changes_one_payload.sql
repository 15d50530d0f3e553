-- kai.notify_job_changes planned its chunking query (a window over the changes, then a group
-- per notification) on every call, being an SQL function called from another statement. Most
-- calls send a few changes, one notification's worth: a submission's insert, a small claim.
-- On PGlite the planning and the window cost about 50 us of the 300 of a one-job submission.
-- Now a plpgsql function, whose statements are planned once a session, that sends such changes
-- as one payload straight away: exactly what the chunking sends for them, since consecutive
-- changes of up to 900 bytes whose running length stays under 7000 are one chunk.

create or replace function kai.notify_job_changes(p_changes text[]) returns integer
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  v_length bigint;
  v_longest integer;
  v_sent integer;
begin
  -- The length of the changes joined by commas, and the longest change; changes are never null.
  select pg_catalog.sum(pg_catalog.octet_length(c) + 1) - 1,
         pg_catalog.max(pg_catalog.octet_length(c))
    into v_length, v_longest
    from pg_catalog.unnest(p_changes) as c;
  if v_length is null then
    return 0;
  end if;

  if v_longest <= 900 and v_length < 7000 then
    perform pg_catalog.pg_notify(
      'kai_jobs', '[' || pg_catalog.array_to_string(p_changes, ',') || ']');
    return 1;
  end if;

  select pg_catalog.count(*)::integer into v_sent from (
    select pg_catalog.pg_notify(
      'kai_jobs', '[' || pg_catalog.string_agg(c.change, ',' order by c.n) || ']')
    from (
      select u.change, u.n,
        case when pg_catalog.octet_length(u.change) > 900 then -u.n
        else (pg_catalog.sum(pg_catalog.octet_length(u.change) + 1)
                filter (where pg_catalog.octet_length(u.change) <= 900)
                over (order by u.n) - 1) / 7000
        end as chunk
      from pg_catalog.unnest(p_changes) with ordinality as u(change, n)
    ) c
    group by c.chunk
  ) sent;
  return v_sent;
end
$$;
