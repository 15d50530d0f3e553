import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertObjectKey, type ObjectStorage, type StoredObject } from './object-storage.ts';

/**
 * The embedded default's storage: objects as files under `<dataDir>/storage/<bucket>/`, each
 * with its content type beside it in `<name>.meta.json`. Files are created exclusively, so a
 * key is written once.
 */
export function createDataDirStorage(options: { dataDir: string; bucket: string }): ObjectStorage {
  const root = join(options.dataDir, 'storage', options.bucket);
  const pathOf = (key: string) => {
    assertObjectKey(key);
    return join(root, key);
  };

  return {
    kind: 'data-dir',

    async put(key, body, contentType): Promise<StoredObject> {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body, { flag: 'wx', mode: 0o600 });
      await writeFile(`${path}.meta.json`, JSON.stringify({ contentType }), { mode: 0o600 });
      return {
        key,
        contentType,
        bytes: body.byteLength,
        sha256: createHash('sha256').update(body).digest('hex'),
      };
    },

    async get(key) {
      const path = pathOf(key);
      try {
        const [body, meta] = await Promise.all([
          readFile(path),
          readFile(`${path}.meta.json`, 'utf8'),
        ]);
        const { contentType } = JSON.parse(meta) as { contentType: string };
        return { body: new Uint8Array(body), contentType };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },

    async delete(key) {
      const path = pathOf(key);
      await rm(path, { force: true });
      await rm(`${path}.meta.json`, { force: true });
    },
  };
}
