import { existsSync } from 'node:fs';

/** Loads `.env` from the working directory into `process.env` when there is one. */
export function loadDotenv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
