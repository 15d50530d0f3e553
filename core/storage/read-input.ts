import { createHash } from 'node:crypto';
import { DEFAULTS } from '../config/defaults.ts';
import {
  createGuardedHttpClient,
  type GuardedHttpClient,
  OutboundRequestError,
  type OutboundResponse,
} from '../net/guarded-http.ts';
import type { OutboundPolicy } from '../net/outbound-guard.ts';
import type { JobInput } from './job-input.ts';
import { assertObjectKey, type ObjectStorage } from './object-storage.ts';

/**
 * The stable codes of an input that could not be read. Fatal ones would fail every attempt
 * the same way (the input is bad, gone or forbidden); the others are hiccups of a network or
 * a storage service that another attempt may not meet.
 */
export type InputProblemCode =
  /** Fatal: this process has no storage to read stored inputs from. */
  | 'input_unavailable'
  /** Fatal: the input was stored by another kind of storage than this process reads. */
  | 'input_storage_mismatch'
  /** Fatal: the stored key is not one Kai makes, or belongs to another owner than the job's. */
  | 'input_forbidden'
  /** Fatal: storage holds no object at the key (deleted, or another bucket). */
  | 'input_missing'
  /** Fatal: the stored bytes are not those the API recorded (size or SHA-256 differ). */
  | 'input_checksum_mismatch'
  /** Fatal: the input is over the byte limit (UPLOAD_MAX_BYTES). */
  | 'input_too_large'
  /** Fatal: the SSRF guard refused the URL (private, loopback, metadata, not http(s)). */
  | 'input_url_refused'
  /** Fatal for 4xx and redirect loops, retryable for 408, 429 and 5xx. */
  | 'input_http_error'
  /** Retryable: the URL gave no complete answer within the timeout. */
  | 'input_timeout'
  /** Retryable: the connection failed or broke. */
  | 'input_unreachable'
  /** Retryable: storage failed to answer. */
  | 'input_storage_error'
  /** Retryable: the job's signal fired while its input was read. */
  | 'input_aborted';

const RETRYABLE: ReadonlySet<InputProblemCode> = new Set([
  'input_timeout',
  'input_unreachable',
  'input_storage_error',
  'input_aborted',
]);

/** Why a job's input could not be read, with its stable code and whether to try again. */
export class InputReadError extends Error {
  readonly code: InputProblemCode;
  readonly retryable: boolean;

  constructor(
    code: InputProblemCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InputReadError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
  }
}

/** The bytes of a job's input and the media type it came with. */
export interface InputBytes {
  bytes: Uint8Array;
  contentType: string;
}

/** What a reader needs to know of the job whose input it reads. */
export interface ReadInputOptions {
  /** The job's signal: reading stops (`input_aborted`) when it fires. */
  signal: AbortSignal;
  /**
   * The job's owner: a stored key must be theirs (`<ownerId>/...`). Null for jobs of the
   * service itself, which may read any key Kai made.
   */
  ownerId: string | null;
}

/** Reads job inputs for handlers: stored objects through the storage port, URLs guarded. */
export interface InputReader {
  /**
   * The bytes of `input`, checked: a stored object against the size and SHA-256 the API
   * recorded, a URL fetched through the SSRF-guarded client within the byte limit and the
   * timeout. Rejects only with `InputReadError`.
   */
  read(input: JobInput, options: ReadInputOptions): Promise<InputBytes>;
  /** Closes the kept-alive sockets of the URL client. */
  close(): void;
}

/** How a reader is built. */
export interface InputReaderOptions {
  /** Where stored inputs live; undefined when this process has none (`input_unavailable`). */
  storage: ObjectStorage | undefined;
  /** The largest input read, stored or fetched (UPLOAD_MAX_BYTES, as the API accepts). */
  maxBytes: number;
  /** Per URL request, connection included (INPUT_URL_TIMEOUT_MS). @default 30000 */
  timeoutMs?: number | undefined;
  /** Redirects followed, each hop checked by the guard again. @default 3 */
  maxRedirects?: number | undefined;
  /** What the SSRF guard allows beyond the public internet (OUTBOUND_ALLOW_CIDRS). */
  outbound?: OutboundPolicy | undefined;
}

const DEFAULT_TIMEOUT_MS = DEFAULTS.INPUT_URL_TIMEOUT_MS;
const DEFAULT_MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Builds the one reader of job inputs, for the pool's handler context. Every failure is an
 * `InputReadError` with a stable code, so a handler fails the job alone, at once when the
 * input is bad and with a retry when a service hiccupped.
 */
export function createInputReader(options: InputReaderOptions): InputReader {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let http: GuardedHttpClient | undefined;
  const client = () => {
    http ??= createGuardedHttpClient({
      ...options.outbound,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxSocketsPerHost: 8,
      userAgent: 'Kai-Inputs/1.0',
    });
    return http;
  };

  const readStored = async (
    input: Extract<JobInput, { key: string }>,
    readOptions: ReadInputOptions,
  ): Promise<InputBytes> => {
    const storage = options.storage;
    if (!storage) {
      throw new InputReadError(
        'input_unavailable',
        'This pool has no storage configured to read stored inputs from; set STORAGE_DRIVER ' +
          '(with SUPABASE_URL and SUPABASE_KEY) as the API has it, or pass the input by URL.',
      );
    }
    if (input.storage !== storage.kind) {
      throw new InputReadError(
        'input_storage_mismatch',
        `The input was stored in ${input.storage} storage, but this pool reads ` +
          `${storage.kind} storage; give the pool the API's storage configuration.`,
      );
    }
    checkKey(input.key, readOptions.ownerId);
    if (input.bytes > options.maxBytes) throw tooLarge(input.bytes, options.maxBytes);
    throwIfAborted(readOptions.signal);

    let object: Awaited<ReturnType<ObjectStorage['get']>>;
    try {
      object = await storage.get(input.key);
    } catch (error) {
      throw new InputReadError(
        'input_storage_error',
        `The stored input ${input.key} could not be read from ${storage.kind} storage: ` +
          `${(error as Error).message}`,
        { cause: error },
      );
    }
    throwIfAborted(readOptions.signal);
    if (!object) {
      throw new InputReadError(
        'input_missing',
        `The stored input ${input.key} is gone from ${storage.kind} storage; submit it again.`,
      );
    }

    const sha256 = createHash('sha256').update(object.body).digest('hex');
    if (object.body.byteLength !== input.bytes || sha256 !== input.sha256) {
      throw new InputReadError(
        'input_checksum_mismatch',
        `The stored input ${input.key} is ${object.body.byteLength} bytes with SHA-256 ` +
          `${sha256}, not the ${input.bytes} bytes with SHA-256 ${input.sha256} recorded at ` +
          'submission: it changed since; submit it again.',
      );
    }
    return { bytes: object.body, contentType: object.contentType || input.contentType };
  };

  const readUrl = async (text: string, readOptions: ReadInputOptions): Promise<InputBytes> => {
    let url = new URL(text);
    for (let hop = 0; ; hop++) {
      throwIfAborted(readOptions.signal);
      const response = await fetchOnce(url, readOptions.signal);

      const location = response.headers.get('location');
      if (REDIRECTS.has(response.status) && location !== null) {
        if (hop >= maxRedirects) {
          throw new InputReadError(
            'input_http_error',
            `${shown(text)} redirects more than ${maxRedirects} times; give the final URL.`,
            { retryable: false },
          );
        }
        url = new URL(location, url);
        continue;
      }
      if (response.status < 200 || response.status > 299) {
        const status = response.status;
        const again = status === 408 || status === 429 || status >= 500;
        throw new InputReadError(
          'input_http_error',
          `${shown(url.href)} answered HTTP ${status}` +
            (again ? '.' : '; check that the URL is public and points at the input.'),
          { retryable: again },
        );
      }
      if (response.truncated || response.bytes.byteLength > options.maxBytes) {
        const length = Number(response.headers.get('content-length') ?? Number.NaN);
        throw tooLarge(Number.isFinite(length) ? length : undefined, options.maxBytes);
      }
      return {
        bytes: response.bytes,
        contentType: response.headers.get('content-type') ?? 'application/octet-stream',
      };
    }
  };

  const fetchOnce = async (url: URL, signal: AbortSignal): Promise<OutboundResponse> => {
    try {
      // One byte over the limit tells a body of exactly the limit from a longer one.
      return await client().send({
        url: url.href,
        method: 'GET',
        headers: { accept: 'image/png, image/jpeg, image/webp, */*;q=0.5' },
        signal,
        maxResponseBytes: options.maxBytes + 1,
      });
    } catch (error) {
      if (!(error instanceof OutboundRequestError)) throw error;
      const where = shown(url.href);
      switch (error.kind) {
        case 'refused':
          throw new InputReadError(
            'input_url_refused',
            `Kai does not fetch ${where}: ${error.message}`,
            { cause: error },
          );
        case 'timeout':
          throw new InputReadError('input_timeout', `${where}: ${error.message}`, {
            cause: error,
          });
        case 'aborted':
          throw new InputReadError(
            'input_aborted',
            'The job was aborted while its input was read.',
          );
        default:
          throw new InputReadError('input_unreachable', `${where} failed: ${error.message}`, {
            cause: error,
          });
      }
    }
  };

  return {
    async read(input, readOptions) {
      try {
        if ('url' in input) return await readUrl(input.url, readOptions);
        return await readStored(input, readOptions);
      } catch (error) {
        if (error instanceof InputReadError) throw error;
        throw new InputReadError(
          'input_unreachable',
          `The input could not be read: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },

    close() {
      http?.close();
    },
  };
}

/** A reader for a process that reads no inputs: every input fails with `input_unavailable`. */
export const NO_INPUT_READER: InputReader = {
  read: () =>
    Promise.reject(
      new InputReadError(
        'input_unavailable',
        'This pool was started without an input reader; pass the image inline as imageBase64.',
      ),
    ),
  close() {},
};

function checkKey(key: string, ownerId: string | null): void {
  try {
    assertObjectKey(key);
  } catch (error) {
    throw new InputReadError('input_forbidden', (error as Error).message, { cause: error });
  }
  if (ownerId !== null && !key.startsWith(`${ownerId}/`)) {
    throw new InputReadError(
      'input_forbidden',
      `The stored input ${key} belongs to another owner than this job's.`,
    );
  }
}

function tooLarge(bytes: number | undefined, maxBytes: number): InputReadError {
  const size = bytes === undefined ? 'over the limit' : `${bytes} bytes`;
  return new InputReadError(
    'input_too_large',
    `The input is ${size}; at most ${maxBytes} bytes (UPLOAD_MAX_BYTES) are read.`,
  );
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new InputReadError('input_aborted', 'The job was aborted while its input was read.');
  }
}

/** A URL as error messages show it: without its query or fragment, which may hold tokens. */
function shown(text: string): string {
  if (!URL.canParse(text)) return 'The URL';
  const url = new URL(text);
  return `${url.origin}${url.pathname}`;
}
