import { fileURLToPath } from 'node:url';

/** The repository's one migrations folder, as `npm start` and the Supabase CLI read it. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../supabase/migrations', import.meta.url));

/** The repository root, where `supabase/` lives and `npm start` runs. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
