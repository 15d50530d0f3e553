import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The server the benchmarks use unless DATABASE_URL names another. */
export const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database made for one benchmark run; `drop()` removes it and ends its connections. */
export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database named after `label` on the server at `serverUrl`, so every system
 * measured starts from nothing and leaves nothing behind.
 *
 * Limitation: a run that crashes while a system is being set up leaves its `bench_*` database
 * behind; the name says what it is, and `drop database` clears it.
 */
export async function createScratchDatabase(
  serverUrl: string,
  label: string,
): Promise<ScratchDatabase> {
  const name = `bench_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
