// The Vercel function: Kai's Hono app over the server database. Migrations are applied at deploy
// time (`supabase db push`), and the GPU pool runs on Kubernetes, so both count as ready here.
import { handle } from 'hono/vercel';
import { loadConfig } from '../core/config/load-config.ts';
import { createPostgresDatabase } from '../core/db/postgres-database.ts';
import { StartupError } from '../core/errors.ts';
import { createApp } from '../core/http/app.ts';
import { createLogger } from '../core/logging/logger.ts';

const config = loadConfig(process.env);
const logger = createLogger({ level: config.log.level });

if (config.database.driver !== 'postgres') {
  throw new StartupError(
    'Kai on Vercel needs DATABASE_URL: a function has no disk to keep an embedded database on.',
  );
}

// One connection per function instance: Vercel runs many instances, and Supabase's pooler
// multiplexes them.
const db = createPostgresDatabase({ ...config.database, poolMax: 1, logger });
const app = createApp({ db, logger, readiness: () => ({ migrations: true, pool: true }) });

export default handle(app);
