-- The material catalog: labelled reference images (a material class and a product id each),
-- embedded by kai-texture-net in the pool. `material.classify` votes over the nearest items and
-- `GET /v1/catalog/similar` lists them. The table exists on every database; its embedding
-- column, HNSW index and the trigger that fills it exist only where pgvector does, and the
-- catalog's features answer `capability_unavailable` elsewhere.
create table public.catalog_items (
  id uuid primary key default gen_random_uuid(),
  -- The user whose catalog it is; null for the shared reference catalog that service_role
  -- manages and every user reads.
  owner_id uuid,
  material_class text not null
    check (material_class ~ '^[a-z][a-z0-9_-]*$' and length(material_class) <= 64),
  product_id text not null check (length(product_id) between 1 and 200),
  label text check (length(label) <= 500),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  -- embedding: its texture.embed job runs; ready: the embedding is stored; failed: the job
  -- failed for good (see error).
  status text not null default 'embedding' check (status in ('embedding', 'ready', 'failed')),
  embed_job_id uuid unique references public.jobs (id) on delete set null,
  embedding_model text,
  error jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.catalog_items is
  'Reference images of materials: class, product and (with pgvector) the texture embedding.';

create index catalog_items_owner_idx on public.catalog_items (owner_id, created_at desc);
create index catalog_items_product_idx on public.catalog_items (owner_id, product_id);

create trigger catalog_items_touch_updated_at
  before update on public.catalog_items
  for each row execute function kai.touch_updated_at();

alter table public.catalog_items enable row level security;

-- Users read their own items and the shared catalog; they add and remove only their own.
create policy catalog_items_select on public.catalog_items
  for select to authenticated
  using (owner_id = auth.uid() or owner_id is null);
create policy catalog_items_insert_own on public.catalog_items
  for insert to authenticated
  with check (owner_id = auth.uid() and status = 'embedding');
create policy catalog_items_delete_own on public.catalog_items
  for delete to authenticated
  using (owner_id = auth.uid());
create policy catalog_items_service_all on public.catalog_items
  for all to service_role using (true) with check (true);

grant select, delete on public.catalog_items to authenticated;
grant insert (owner_id, material_class, product_id, label, metadata, embed_job_id)
  on public.catalog_items to authenticated;
grant all on public.catalog_items to service_role;

do $catalog$
begin
  if not exists (select 1 from pg_extension where extname = 'vector') then
    return;
  end if;

  -- kai-texture-net v1 embeddings: 54 numbers of unit length, compared by cosine.
  alter table public.catalog_items add column embedding extensions.vector(54);
  create index catalog_items_embedding_idx on public.catalog_items
    using hnsw (embedding extensions.vector_cosine_ops);

  -- When an item's texture.embed job settles, the item follows in the same transaction: its
  -- embedding stored, or the job's error kept. Keyed by embed_job_id, which only the item's
  -- insert sets, so no job payload can aim at someone else's item.
  create function kai.catalog_item_embedded() returns trigger
    language plpgsql
    security definer
    set search_path = ''
    as $fn$
  declare
    vector_text text;
  begin
    if new.status = 'completed' then
      if jsonb_typeof(new.result -> 'embedding') = 'array'
         and jsonb_array_length(new.result -> 'embedding') = 54 then
        vector_text := (new.result -> 'embedding')::text;
        update public.catalog_items
          set status = 'ready',
              embedding = vector_text::extensions.vector,
              embedding_model = new.result ->> 'model',
              error = null
          where embed_job_id = new.id;
      else
        update public.catalog_items
          set status = 'failed',
              error = jsonb_build_object(
                'code', 'embedding_invalid',
                'message', 'The texture.embed job completed without a 54-number embedding.')
          where embed_job_id = new.id;
      end if;
    elsif new.status in ('dead', 'cancelled') then
      update public.catalog_items
        set status = 'failed',
            error = coalesce(new.error, jsonb_build_object('code', new.status))
        where embed_job_id = new.id;
    end if;
    return null;
  end
  $fn$;

  create trigger jobs_catalog_item_embedded
    after update of status on public.jobs
    for each row
    when (
      new.type = 'texture.embed'
      and old.status is distinct from new.status
      and new.status in ('completed', 'dead', 'cancelled')
    )
    execute function kai.catalog_item_embedded();
end
$catalog$;
