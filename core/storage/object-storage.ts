/** What storage keeps of an object besides its bytes. */
export interface StoredObject {
  /** The object's path inside Kai's bucket, `<ownerId>/<uuid>`. */
  key: string;
  contentType: string;
  bytes: number;
  /** Hex SHA-256 of the bytes, so a worker can check what it reads. */
  sha256: string;
}

/**
 * The storage port: where uploaded job inputs live. The embedded default keeps them under the
 * data dir; in production they go to a Supabase Storage bucket. Keys are chosen by Kai, never
 * by callers, and name the owner first (`<ownerId>/...`), as Supabase's storage policies
 * expect.
 */
export interface ObjectStorage {
  /** `data-dir` or `supabase`; shown in logs and in the stored reference. */
  readonly kind: string;

  /** Stores `body` at `key`, replacing nothing: a key that exists is an error. */
  put(key: string, body: Uint8Array, contentType: string): Promise<StoredObject>;

  /** The object at `key` with its content type, or undefined when there is none. */
  get(key: string): Promise<{ body: Uint8Array; contentType: string } | undefined>;

  /** Deletes the object at `key`; deleting one that is gone is not an error. */
  delete(key: string): Promise<void>;
}

/** Object keys: the owner's id, then Kai's own name for the object. */
export const OBJECT_KEY_PATTERN = /^[0-9a-f-]{36}\/[A-Za-z0-9._-]{1,200}$/;

/** Throws unless `key` is one Kai could have made; no `..`, no absolute paths. */
export function assertObjectKey(key: string): void {
  if (!OBJECT_KEY_PATTERN.test(key) || key.includes('..')) {
    throw new Error(`${JSON.stringify(key)} is not a storage key Kai makes.`);
  }
}
