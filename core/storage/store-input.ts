import { randomUUID } from 'node:crypto';
import { KaiError, ValidationError } from '../errors.ts';
import type { JobInput } from './job-input.ts';
import type { ObjectStorage } from './object-storage.ts';

/** Storage is not configured, or did not take the object (503 `storage_unavailable`). */
export class StorageUnavailableError extends KaiError {
  constructor(detail: string, cause?: unknown) {
    super(
      { code: 'storage_unavailable', status: 503, title: 'Storage unavailable', detail },
      { cause },
    );
  }
}

/** An input over the configured limit (413 `input_too_large`). */
export class InputTooLargeError extends KaiError {
  constructor(bytes: number, maxBytes: number) {
    super(
      {
        code: 'input_too_large',
        status: 413,
        title: 'Input too large',
        detail: `The input is ${bytes} bytes; at most ${maxBytes} are accepted.`,
      },
      { extensions: { maxBytes } },
    );
  }
}

const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/** Decodes standard base64 (padding optional, whitespace ignored), or a 422 naming `path`. */
export function decodeBase64Input(text: string, path: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact)) {
    throw new ValidationError('The input is not valid base64.', [
      { path, message: 'expects base64 (RFC 4648, standard alphabet)' },
    ]);
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/**
 * Stores one job input of `ownerId` under a key Kai chooses (`<ownerId>/<uuid>`) and returns
 * the reference the job's payload carries. Empty and oversized inputs are refused before any
 * byte is written.
 */
export async function storeJobInput(
  storage: ObjectStorage | undefined,
  input: { ownerId: string; body: Uint8Array; contentType: string; maxBytes: number },
): Promise<JobInput> {
  if (!storage) {
    throw new StorageUnavailableError(
      'This Kai has no storage for uploads; pass the input by URL.',
    );
  }
  if (input.body.byteLength === 0) {
    throw new ValidationError('The input is empty.', [{ path: 'input', message: 'is empty' }]);
  }
  if (input.body.byteLength > input.maxBytes) {
    throw new InputTooLargeError(input.body.byteLength, input.maxBytes);
  }

  const key = `${input.ownerId}/${randomUUID()}`;
  try {
    const stored = await storage.put(key, input.body, input.contentType);
    return { storage: storage.kind, ...stored };
  } catch (error) {
    throw new StorageUnavailableError('The input could not be stored; try again.', error);
  }
}
