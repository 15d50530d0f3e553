import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file under `KAI_DATA_DIR` that holds the embedded stack's JWT secret. */
export const LOCAL_JWT_SECRET_FILE = 'jwt-secret';

/** The issuer of tokens the embedded stack signs (`npm run token`), when no other is set. */
export const LOCAL_JWT_ISSUER = 'kai-local';

/**
 * The embedded stack's HS256 secret: read from `<dataDir>/jwt-secret`, or made once from 32
 * bytes of the CSPRNG and written there readable by the owner only. `npm start` and
 * `npm run token` share it through the data dir, so tokens work with zero configuration and
 * no secret is ever a constant in the code. Creating is exclusive (`wx`): two processes that
 * race both end up reading the one file that won.
 */
export async function loadLocalJwtSecret(dataDir: string): Promise<string> {
  const path = join(dataDir, LOCAL_JWT_SECRET_FILE);
  const existing = await readSecret(path);
  if (existing) return existing;

  await mkdir(dataDir, { recursive: true });
  try {
    await writeFile(path, `${randomBytes(32).toString('base64url')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }

  const created = await readSecret(path);
  if (!created) throw new Error(`The JWT secret file ${path} is empty.`);
  return created;
}

async function readSecret(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
