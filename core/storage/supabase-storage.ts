import { createHash } from 'node:crypto';
import { assertObjectKey, type ObjectStorage, type StoredObject } from './object-storage.ts';

/** Where and as whom Kai talks to Supabase Storage. */
export interface SupabaseStorageOptions {
  /** The project URL, such as `https://abcd.supabase.co`. */
  url: string;
  /** The service role key: it bypasses the bucket's policies, so it stays on the server. */
  serviceKey: string;
  bucket: string;
  /** Per request; 30 s when unset. */
  timeoutMs?: number | undefined;
  fetch?: typeof fetch | undefined;
}

/** Supabase Storage answered with an error; `status` is its HTTP status. */
export class StorageRequestError extends Error {
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.name = 'StorageRequestError';
    this.status = status;
  }
}

/**
 * Supabase Storage over its REST API: `POST /storage/v1/object/{bucket}/{path}` to upload
 * (`x-upsert: false`, so a key is written once), `GET` the same path to download and `DELETE`
 * it to remove, each with the service key as bearer and `apikey`. The URL comes from
 * configuration, never from a caller.
 */
export function createSupabaseStorage(options: SupabaseStorageOptions): ObjectStorage {
  const base = `${options.url.replace(/\/+$/, '')}/storage/v1/object/${encodeURIComponent(options.bucket)}`;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const auth = { authorization: `Bearer ${options.serviceKey}`, apikey: options.serviceKey };

  const urlOf = (key: string) => {
    assertObjectKey(key);
    return `${base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  };

  async function failure(response: Response, what: string): Promise<StorageRequestError> {
    // The body is Storage's own { statusCode, error, message }; it names no secret.
    const text = await response.text().catch(() => '');
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {}
    return new StorageRequestError(
      `Supabase Storage refused to ${what}: ${response.status} ${message}`,
      response.status,
    );
  }

  return {
    kind: 'supabase',

    async put(key, body, contentType): Promise<StoredObject> {
      const response = await doFetch(urlOf(key), {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType, 'x-upsert': 'false' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw await failure(response, `store ${key}`);
      await response.body?.cancel();
      return {
        key,
        contentType,
        bytes: body.byteLength,
        sha256: createHash('sha256').update(body).digest('hex'),
      };
    },

    async get(key) {
      const response = await doFetch(urlOf(key), {
        headers: auth,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status === 404 || response.status === 400) {
        // Storage answers a missing object with 400 or 404 and "Object not found".
        const error = await failure(response, `read ${key}`);
        if (/not found/i.test(error.message)) return undefined;
        throw error;
      }
      if (!response.ok) throw await failure(response, `read ${key}`);
      return {
        body: new Uint8Array(await response.arrayBuffer()),
        contentType: response.headers.get('content-type') ?? 'application/octet-stream',
      };
    },

    async delete(key) {
      const response = await doFetch(urlOf(key), {
        method: 'DELETE',
        headers: auth,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.ok || response.status === 404) {
        await response.body?.cancel();
        return;
      }
      const error = await failure(response, `delete ${key}`);
      if (!/not found/i.test(error.message)) throw error;
    },
  };
}
