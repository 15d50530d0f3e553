-- What a Supabase database provides before any migration runs, created here only where it is
-- missing, so that the same migrations run on a plain Postgres and on PGlite. On a Supabase
-- database every object already exists and this script changes nothing.

-- The API roles are cluster-wide: another database of the same server may create them at the
-- same moment, hence the tolerated duplicates.
do $bootstrap$
declare
  wanted record;
begin
  for wanted in
    select * from (values
      ('anon', 'nologin noinherit'),
      ('authenticated', 'nologin noinherit'),
      ('service_role', 'nologin noinherit bypassrls')
    ) as r(name, attributes)
  loop
    if not exists (select 1 from pg_roles where rolname = wanted.name) then
      begin
        execute format('create role %I %s', wanted.name, wanted.attributes);
      exception when duplicate_object or unique_violation then
        null;
      end;
    end if;
  end loop;
end
$bootstrap$;

-- Supabase installs extensions into their own schema.
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

-- Supabase's realtime publication; tables join it in the migrations.
do $bootstrap$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$bootstrap$;

-- The auth schema, with the functions RLS policies call and a minimal users table. A Supabase
-- database has all of it, owned by its auth service, so nothing here runs there.
do $bootstrap$
begin
  if exists (select 1 from pg_namespace where nspname = 'auth') then
    return;
  end if;

  create schema auth;
  grant usage on schema auth to anon, authenticated, service_role;

  create table auth.users (
    id uuid primary key default gen_random_uuid(),
    email text unique,
    phone text unique,
    raw_app_meta_data jsonb not null default '{}',
    raw_user_meta_data jsonb not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  );
  grant all on auth.users to service_role;

  -- As Supabase defines them: the claims of the request's JWT, set by the API per transaction
  -- in `request.jwt.claims` (older clients set `request.jwt.claim.<name>`).
  create function auth.jwt() returns jsonb
    language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
      )::jsonb
    $fn$;

  create function auth.uid() returns uuid
    language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $fn$;

  create function auth.role() returns text
    language sql stable
    as $fn$
      select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $fn$;

  grant execute on function auth.jwt(), auth.uid(), auth.role()
    to anon, authenticated, service_role;

  -- Supabase lets the API roles into the public schema; RLS decides what they see.
  grant usage on schema public to anon, authenticated, service_role;
end
$bootstrap$;
