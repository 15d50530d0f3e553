// The embedded default's storage: files under the data dir, written once, read back exactly.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataDirStorage } from '../core/storage/data-dir-storage.ts';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kai-storage-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('data-dir storage', () => {
  it('keeps bytes and content type under <dataDir>/storage/<bucket>, owner-only', async () => {
    const storage = createDataDirStorage({ dataDir, bucket: 'kai-inputs' });
    const key = `${randomUUID()}/${randomUUID()}`;
    const body = new Uint8Array([0, 1, 2, 255]);

    const stored = await storage.put(key, body, 'image/png');
    const file = await stat(join(dataDir, 'storage', 'kai-inputs', key));

    expect(stored).toMatchObject({ key, bytes: 4, contentType: 'image/png' });
    expect(file.mode & 0o777).toBe(0o600);
    expect(await storage.get(key)).toEqual({ body, contentType: 'image/png' });
  });

  it('writes a key once, deletes it, and reads a missing key as undefined', async () => {
    const storage = createDataDirStorage({ dataDir, bucket: 'kai-inputs' });
    const key = `${randomUUID()}/${randomUUID()}`;
    await storage.put(key, new Uint8Array([1]), 'text/plain');

    await expect(storage.put(key, new Uint8Array([2]), 'text/plain')).rejects.toThrow(/EEXIST/);
    await storage.delete(key);
    await storage.delete(key);
    expect(await storage.get(key)).toBeUndefined();
  });

  it('refuses keys that could leave its folder', async () => {
    const storage = createDataDirStorage({ dataDir, bucket: 'kai-inputs' });

    await expect(storage.put('../escape', new Uint8Array([1]), 'text/plain')).rejects.toThrow(
      /not a storage key/,
    );
    await expect(storage.get(`${randomUUID()}/..`)).rejects.toThrow(/not a storage key/);
    await expect(storage.get('/etc/passwd')).rejects.toThrow(/not a storage key/);
  });
});
