-- pgvector, where the server has it (Supabase and Kai's embedded PGlite do; Debian's Postgres
-- does not). Objects built on vectors are created in DO blocks that check for the extension,
-- so every migration still applies on a database without it; Kai's features that need vectors
-- then answer `capability_unavailable`.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'vector') then
    create extension if not exists vector with schema extensions;
  end if;
end
$$;

-- Kai's private schema: trigger functions and helpers that no API role calls directly.
create schema if not exists kai;
