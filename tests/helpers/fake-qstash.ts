import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { type LocalServer, listenLocal, readBody, sendJson } from './fake-http-server.ts';

/** One publish the fake accepted, with the Upstash headers it came with. */
export interface Published {
  messageId: string;
  destination: string;
  body: string;
  headers: Record<string, string>;
  deduplicated: boolean;
}

/** What became of a message: each try's status, and the callback answers. */
export interface Outcome {
  messageId: string;
  tries: { at: number; status: number }[];
  callback?: { url: string; status: number };
  failureCallback?: { url: string; status: number };
  done: boolean;
}

/** A local server speaking QStash's publish contract and delivering like QStash. */
export interface FakeQstash extends LocalServer {
  token: string;
  signingKeys: { current: string; next: string };
  published: Published[];
  outcomes: Map<string, Outcome>;
}

const FUNCTIONS = ['min', 'max', 'pow', 'sqrt', 'abs', 'exp', 'floor', 'ceil', 'round'];

/** Evaluates an `Upstash-Retry-Delay` expression (QStash's functions and `retried`), in ms. */
function evaluateRetryDelay(expression: string, retried: number): number {
  const words = expression.match(/[a-z_]+/gi) ?? [];
  if (
    !/^[\d\s.,()+\-*/a-z_]+$/i.test(expression) ||
    words.some((w) => w !== 'retried' && !FUNCTIONS.includes(w))
  ) {
    throw new Error(`Bad retry delay expression ${expression}`);
  }
  const fns = FUNCTIONS.map((name) => Math[name as 'min']);
  return Number(new Function('retried', ...FUNCTIONS, `return (${expression});`)(retried, ...fns));
}

/** QStash's default backoff when no expression is given, in ms. */
const defaultDelay = (retried: number) => Math.min(86_400, Math.exp(2.5 * retried)) * 1000;

const parseDuration = (value: string | undefined) => {
  const match = value?.match(/^(\d+)(ms|s|m|h|d)?$/);
  if (!match) return 0;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * unit;
};

/**
 * Starts a fake QStash: `POST /v2/publish/<destination>` with `Authorization: Bearer <token>`
 * and the Upstash-* headers (Retries, Retry-Delay, Deduplication-Id, Callback, Failure-Callback,
 * Flow-Control-Key/-Value, Delay, Forward-*) answers `{ messageId }` (and `deduplicated: true`
 * for a known deduplication id), then delivers: POSTs the body to the destination signed with
 * an HS256 JWT under the current signing key (issuer Upstash, subject the URL, claim `body` the
 * base64url SHA-256), with `Upstash-Message-Id` and `Upstash-Retried`; retries non-2xx answers
 * on the retry delay; calls the callback or, once retries are exhausted, the failure callback
 * with QStash's callback body. `timeScale` shortens every wait, so tests keep QStash's numbers.
 */
export async function startFakeQstash(options: { timeScale?: number } = {}): Promise<FakeQstash> {
  const token = `qstash_${randomBytes(12).toString('hex')}`;
  const signingKeys = {
    current: `sig_${randomBytes(16).toString('base64url')}`,
    next: `sig_${randomBytes(16).toString('base64url')}`,
  };
  const published: Published[] = [];
  const outcomes = new Map<string, Outcome>();
  const byDedup = new Map<string, string>();
  const scale = options.timeScale ?? 1;

  const sign = async (url: string, body: string) => {
    const now = Math.floor(Date.now() / 1000);
    return await new SignJWT({ body: createHash('sha256').update(body).digest('base64url') })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('Upstash')
      .setSubject(url)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .setJti(`jwt_${randomUUID()}`)
      .sign(new TextEncoder().encode(signingKeys.current));
  };

  const post = async (url: string, body: string, headers: Record<string, string>) => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'upstash-signature': await sign(url, body) },
        body,
      });
      return { status: response.status, text: await response.text(), headers: response.headers };
    } catch {
      return { status: 0, text: '', headers: new Headers() };
    }
  };

  const deliver = async (message: Published) => {
    const outcome: Outcome = { messageId: message.messageId, tries: [], done: false };
    outcomes.set(message.messageId, outcome);
    const h = message.headers;
    const retries = Number(h['upstash-retries'] ?? 3);
    const forwarded: Record<string, string> = {};
    for (const [name, value] of Object.entries(h)) {
      if (name.startsWith('upstash-forward-'))
        forwarded[name.slice('upstash-forward-'.length)] = value;
    }
    if (h['content-type']) forwarded['content-type'] = h['content-type'];

    await new Promise((r) => setTimeout(r, parseDuration(h['upstash-delay']) * scale));

    let last = { status: 0, text: '', headers: new Headers() };
    for (let retried = 0; retried <= retries; retried += 1) {
      last = await post(message.destination, message.body, {
        ...forwarded,
        'upstash-message-id': message.messageId,
        'upstash-retried': String(retried),
      });
      outcome.tries.push({ at: Date.now(), status: last.status });
      if (last.status >= 200 && last.status < 300) break;
      if (retried < retries) {
        const expression = h['upstash-retry-delay'];
        const delay = expression ? evaluateRetryDelay(expression, retried) : defaultDelay(retried);
        await new Promise((r) => setTimeout(r, delay * scale));
      }
    }

    const ok = last.status >= 200 && last.status < 300;
    const callbackUrl = ok ? h['upstash-callback'] : h['upstash-failure-callback'];
    if (callbackUrl) {
      const body = JSON.stringify({
        status: last.status,
        header: Object.fromEntries(last.headers),
        body: Buffer.from(last.text).toString('base64'),
        retried: outcome.tries.length - 1,
        maxRetries: retries,
        sourceMessageId: message.messageId,
        url: message.destination,
        method: 'POST',
        sourceHeader: forwarded,
        sourceBody: Buffer.from(message.body).toString('base64'),
        ...(ok ? {} : { dlqId: `dlq_${randomUUID()}` }),
      });
      const answer = await post(callbackUrl, body, { 'content-type': 'application/json' });
      outcome[ok ? 'callback' : 'failureCallback'] = { url: callbackUrl, status: answer.status };
    }
    outcome.done = true;
  };

  const server = await listenLocal(async (request, response) => {
    const prefix = '/v2/publish/';
    if (request.method !== 'POST' || !request.url?.startsWith(prefix)) {
      sendJson(response, 404, { error: 'not found' });
      return;
    }
    if (request.headers.authorization !== `Bearer ${token}`) {
      sendJson(response, 401, { error: 'Unauthorized' });
      return;
    }
    const destination = decodeURIComponent(request.url.slice(prefix.length));
    if (!/^https?:\/\//.test(destination)) {
      sendJson(response, 400, { error: `invalid destination url: ${destination}` });
      return;
    }
    const body = await readBody(request);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [
        k,
        Array.isArray(v) ? v.join(',') : (v ?? ''),
      ]),
    );
    if (headers['upstash-flow-control-key'] && !headers['upstash-flow-control-value']) {
      sendJson(response, 400, { error: 'flow control value required' });
      return;
    }

    const dedup = headers['upstash-deduplication-id'];
    const known = dedup ? byDedup.get(dedup) : undefined;
    if (known) {
      published.push({ messageId: known, destination, body, headers, deduplicated: true });
      sendJson(response, 201, { messageId: known, deduplicated: true });
      return;
    }
    const messageId = `msg_${randomBytes(12).toString('hex')}`;
    if (dedup) byDedup.set(dedup, messageId);
    const message = { messageId, destination, body, headers, deduplicated: false };
    published.push(message);
    sendJson(response, 201, { messageId });
    void deliver(message);
  });

  return { ...server, token, signingKeys, published, outcomes };
}
