-- Notifications: the in-app inbox (in Supabase Realtime), preferences per user, event type and
-- channel, contact settings with quiet hours, and web-push subscriptions.

create table public.notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  event_id uuid,
  event_type text not null,
  title text not null check (length(title) <= 300),
  body text not null default '' check (length(body) <= 4000),
  data jsonb not null default '{}',
  status text not null default 'unseen' check (status in ('unseen', 'seen', 'read', 'archived')),
  critical boolean not null default false,
  created_at timestamptz not null default now(),
  seen_at timestamptz,
  read_at timestamptz,
  archived_at timestamptz,
  unique (user_id, event_id)
);

create index notifications_user_idx on public.notifications (user_id, created_at desc);

alter table public.notifications enable row level security;
create policy notifications_select_own on public.notifications
  for select to authenticated using (user_id = (select auth.uid()));
create policy notifications_update_own on public.notifications
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy notifications_service_all on public.notifications
  for all to service_role using (true) with check (true);

revoke all on public.notifications from anon, authenticated;
grant select on public.notifications to authenticated;
grant update (status, seen_at, read_at, archived_at) on public.notifications to authenticated;
grant all on public.notifications to service_role;

alter publication supabase_realtime add table public.notifications;

-- One row per user, event type ('*' for all) and channel; no row means the default channel.
create table public.notification_preferences (
  user_id uuid not null,
  event_type text not null check (event_type = '*' or event_type ~ '^[a-z][a-z0-9_.]*$'),
  channel text not null check (channel in ('in-app', 'email', 'sms', 'push')),
  enabled boolean not null,
  updated_at timestamptz not null default now(),
  primary key (user_id, event_type, channel)
);

-- Where and when a user is reached.
create table public.notification_settings (
  user_id uuid primary key,
  email text check (length(email) <= 320),
  phone text check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  time_zone text not null default 'UTC' check (length(time_zone) <= 64),
  -- Quiet hours as local wall-clock times; both null means none. The window may wrap midnight.
  quiet_hours_start time,
  quiet_hours_end time,
  updated_at timestamptz not null default now()
);

create table public.push_subscriptions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  endpoint text not null check (length(endpoint) <= 2048 and endpoint ~ '^https?://'),
  p256dh text not null check (length(p256dh) <= 200),
  auth text not null check (length(auth) <= 100),
  created_at timestamptz not null default now(),
  unique (user_id, endpoint)
);

alter table public.notification_preferences enable row level security;
alter table public.notification_settings enable row level security;
alter table public.push_subscriptions enable row level security;

create policy notification_preferences_own on public.notification_preferences
  for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy notification_preferences_service_all on public.notification_preferences
  for all to service_role using (true) with check (true);
create policy notification_settings_own on public.notification_settings
  for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy notification_settings_service_all on public.notification_settings
  for all to service_role using (true) with check (true);
create policy push_subscriptions_own on public.push_subscriptions
  for all to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy push_subscriptions_service_all on public.push_subscriptions
  for all to service_role using (true) with check (true);

revoke all on public.notification_preferences, public.notification_settings,
  public.push_subscriptions from anon, authenticated;
grant select, insert, update, delete on public.notification_preferences,
  public.notification_settings, public.push_subscriptions to authenticated;
grant all on public.notification_preferences, public.notification_settings,
  public.push_subscriptions to service_role;
