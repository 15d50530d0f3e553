import { Buffer } from 'node:buffer';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { createOutboundGuard, type OutboundPolicy, UnsafeUrlError } from './outbound-guard.ts';

/** One outbound request. Bodies are strings or bytes; redirects are never followed. */
export interface OutboundRequest {
  url: string;
  method?: 'POST' | 'GET' | 'PUT' | 'DELETE' | 'PATCH';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** The most of this response's body kept, instead of the client's `maxResponseBytes`. */
  maxResponseBytes?: number;
}

/** What came back: the status, headers and at most `maxResponseBytes` of the body. */
export interface OutboundResponse {
  status: number;
  headers: Headers;
  /** The body as text, cut at `maxResponseBytes`. */
  body: string;
  /** The same bytes as they came, for bodies that are not text (such as images). */
  bytes: Uint8Array;
  truncated: boolean;
  durationMs: number;
  /** The address actually connected to, as checked by the guard. */
  remoteAddress: string | undefined;
}

/** Why an outbound request produced no response: refused by the guard, timed out, failed. */
export class OutboundRequestError extends Error {
  readonly kind: 'refused' | 'timeout' | 'network' | 'aborted';
  readonly durationMs: number;

  constructor(
    kind: OutboundRequestError['kind'],
    message: string,
    durationMs: number,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'OutboundRequestError';
    this.kind = kind;
    this.durationMs = durationMs;
  }
}

export interface GuardedHttpOptions extends OutboundPolicy {
  /** Per request, connection included (`WEBHOOK_TIMEOUT_MS`). */
  timeoutMs: number;
  /** The most of a response body kept; the rest is not read. */
  maxResponseBytes?: number;
  /** Sockets kept open per host for reuse. */
  maxSocketsPerHost?: number;
  userAgent?: string;
}

/** Kai's one outbound HTTP client. */
export interface GuardedHttpClient {
  send(request: OutboundRequest): Promise<OutboundResponse>;
  /** Checks a URL without sending anything, as endpoint creation does. */
  checkUrl(url: string): Promise<URL>;
  /** Closes kept-alive sockets. */
  close(): void;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Creates the guarded client: only http(s); the host's addresses resolved and checked by the
 * SSRF guard inside the socket's own `lookup`, so the address checked is the address connected
 * (no window for DNS rebinding), and the connected peer checked once more; redirects returned,
 * never followed; bodies capped; one timeout over the whole exchange.
 */
export function createGuardedHttpClient(options: GuardedHttpOptions): GuardedHttpClient {
  const guard = createOutboundGuard(options);
  const defaultMaxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  // The lookup every new socket uses: resolve, check every answer, hand back the checked ones.
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    guard.resolve(hostname).then(
      (answers) => {
        const family = lookupOptions.family;
        const usable = answers.filter((a) => !family || family === 0 || a.family === family);
        const first = usable[0];
        if (!first) {
          callback(new UnsafeUrlError(`${hostname} has no usable address.`), '', 0);
          return;
        }
        if (lookupOptions.all) {
          (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
            null,
            usable,
          );
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };

  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSocketsPerHost ?? 64,
    lookup,
  };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };

  const send = async (request: OutboundRequest): Promise<OutboundResponse> => {
    const maxBytes = request.maxResponseBytes ?? defaultMaxBytes;
    const startedAt = performance.now();
    const elapsed = () => Math.round(performance.now() - startedAt);

    let url: URL;
    try {
      url = new URL(request.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new UnsafeUrlError(`Only http and https URLs are allowed, not ${url.protocol}.`);
      }
      if (url.username !== '' || url.password !== '') {
        throw new UnsafeUrlError('URLs with credentials in them are not allowed.');
      }
      // An IP literal never reaches `lookup`, so it is checked here.
      const bare = url.hostname.replace(/^\[|\]$/g, '');
      if (/^[\d.]+$/.test(bare) || bare.includes(':')) guard.checkAddress(bare);
      else if (/^localhost$|\.localhost$|^metadata\.google\.internal$/i.test(bare)) {
        await guard.checkUrl(request.url);
      }
    } catch (error) {
      throw new OutboundRequestError('refused', (error as Error).message, elapsed(), error);
    }

    return await new Promise<OutboundResponse>((resolve, reject) => {
      const body = request.body;
      const headers: Record<string, string> = {
        'user-agent': options.userAgent ?? 'Kai-Webhooks/1.0',
        ...request.headers,
      };
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));

      let settled = false;
      const fail = (kind: OutboundRequestError['kind'], message: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        cleanup();
        outgoing.destroy();
        reject(new OutboundRequestError(kind, message, elapsed(), cause));
      };

      const timer = setTimeout(
        () => fail('timeout', `No complete answer within ${options.timeoutMs} ms.`),
        options.timeoutMs,
      );
      const onAbort = () => fail('aborted', 'The request was aborted.', request.signal?.reason);
      request.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
      };

      const transport = url.protocol === 'https:' ? https : http;
      const outgoing = transport.request(
        url,
        {
          method: request.method ?? 'POST',
          headers,
          agent: agents[url.protocol as 'http:' | 'https:'],
        },
        (incoming) => {
          const remoteAddress = incoming.socket?.remoteAddress;
          const chunks: Buffer[] = [];
          let kept = 0;
          let truncated = false;

          incoming.on('data', (chunk: Buffer) => {
            if (kept < maxBytes) {
              const room = maxBytes - kept;
              chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
              kept += Math.min(room, chunk.length);
            }
            if (kept >= maxBytes && !truncated) {
              truncated = true;
              // The rest is not read: the socket goes, rather than be kept for reuse.
              finish();
              incoming.destroy();
            }
          });
          incoming.on('end', () => finish());
          incoming.on('error', (error) => fail('network', error.message, error));

          const finish = () => {
            if (settled) return;
            settled = true;
            cleanup();
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(incoming.headers)) {
              if (value === undefined) continue;
              for (const v of Array.isArray(value) ? value : [value])
                responseHeaders.append(name, v);
            }
            const bytes = Buffer.concat(chunks);
            resolve({
              status: incoming.statusCode ?? 0,
              headers: responseHeaders,
              body: bytes.toString('utf8'),
              bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
              truncated,
              durationMs: elapsed(),
              remoteAddress,
            });
          };
        },
      );

      // The peer actually connected to is checked again, whatever resolved it.
      outgoing.on('socket', (socket: Socket) => {
        const verify = () => {
          const address = socket.remoteAddress;
          if (address === undefined) return;
          try {
            guard.checkAddress(address, url.hostname);
          } catch (error) {
            fail('refused', (error as Error).message, error);
          }
        };
        if (socket.connecting) socket.once('connect', verify);
        else verify();
      });
      outgoing.on('error', (error) => {
        const refused = error instanceof UnsafeUrlError;
        fail(refused ? 'refused' : 'network', error.message, error);
      });

      if (body !== undefined) outgoing.end(body);
      else outgoing.end();
    });
  };

  return {
    send,
    checkUrl: (url) => guard.checkUrl(url),
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
