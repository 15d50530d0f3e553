// The two Supabase edge functions, run under real Deno (the `deno` npm package) as child
// processes serving on free ports, and on Node through the same app factories. Deno needs a
// server database, so this file uses the machine's Postgres on both legs.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../core/db/database.ts';
import { loadMigrations } from '../core/db/migrations/load-migrations.ts';
import { runMigrations } from '../core/db/migrations/run-migrations.ts';
import { type ComposedDelivery, composeDelivery } from '../core/events/compose-delivery.ts';
import { signLikeQstash } from '../core/events/qstash-signature.ts';
import { recordEvent } from '../core/events/record-event.ts';
import { createEndpoint, type SigningEndpoint } from '../core/webhooks/webhook-endpoints.ts';
import { createWebhookDeliveryFunction } from '../edge/webhook-delivery/app.ts';
import { type FakeQstash, startFakeQstash } from './helpers/fake-qstash.ts';
import { type FakeWebhookReceiver, startWebhookReceiver } from './helpers/fake-webhook-receiver.ts';
import { MIGRATIONS_DIR } from './helpers/migrations-dir.ts';
import { adminSql, databaseUrl, openServerDatabase } from './helpers/server-databases.ts';
import { testDeliveryConfig, testLogger, waitFor } from './webhook-support.ts';

const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DENO = fileURLToPath(new URL('../node_modules/deno/deno', import.meta.url));
const EDGE_DIR = fileURLToPath(new URL('../edge', import.meta.url));

const dbName = `kai_edge_${randomBytes(5).toString('hex')}`;
let db: Database;
let qstash: FakeQstash;
let receiver: FakeWebhookReceiver;
let relay: ComposedDelivery;
let secrets: string[] = [];
const children: ChildProcess[] = [];
const urls: Record<string, string> = {};
const stop = new AbortController();

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `edge/<name>/index.ts` under Deno on `port`; resolves with its URL once it listens. */
function startFunction(name: string, port: number, env: Record<string, string>): Promise<string> {
  const child = spawn(DENO, ['run', '--allow-all', '--quiet', `${name}/index.ts`], {
    cwd: EDGE_DIR,
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DENO_NO_UPDATE_CHECK: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${errors}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        const port = /"listening":(\d+)/.exec(line)?.[1];
        if (port) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${port}/${name}`);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${errors}`)));
  });
}

const statusOf = async (endpoint: SigningEndpoint) => {
  const [row] = await db.query<{ id: string; status: string }>(
    'select id, status from public.deliveries where endpoint_id = $1',
    [endpoint.id],
  );
  return row;
};

async function endpointFor(owner: string): Promise<SigningEndpoint> {
  const endpoint = await createEndpoint(db, owner, { url: `${receiver.url}/hook` });
  secrets = [endpoint.secret];
  return endpoint;
}

beforeAll(async () => {
  const admin = adminSql(SERVER_URL);
  await admin.unsafe(`create database ${dbName}`);
  await admin.end();
  db = openServerDatabase(SERVER_URL, dbName);
  await runMigrations(db, await loadMigrations(MIGRATIONS_DIR), testLogger);

  qstash = await startFakeQstash({ timeScale: 0.001 });
  receiver = await startWebhookReceiver(() => secrets);

  // Each function is told its own public URL: QStash's signature names it as the subject.
  const ports = { delivery: await freePort(), callback: await freePort() };
  const deliveryUrl = `http://127.0.0.1:${ports.delivery}/webhook-delivery`;
  const callbackUrl = `http://127.0.0.1:${ports.callback}/qstash-callback`;
  const common = {
    DATABASE_URL: databaseUrl(SERVER_URL, dbName),
    LOG_LEVEL: 'silent',
    DELIVERY_TRANSPORT: 'qstash',
    QSTASH_URL: qstash.url,
    QSTASH_TOKEN: qstash.token,
    QSTASH_CURRENT_SIGNING_KEY: qstash.signingKeys.current,
    QSTASH_NEXT_SIGNING_KEY: qstash.signingKeys.next,
    OUTBOUND_ALLOW_CIDRS: '127.0.0.1',
    WEBHOOK_RETRY_BASE_MS: '1000',
  };
  const both = {
    ...common,
    DELIVERY_ENDPOINT_URL: deliveryUrl,
    DELIVERY_CALLBACK_URL: callbackUrl,
  };
  [urls.callback, urls.delivery] = await Promise.all([
    startFunction('qstash-callback', ports.callback, both),
    startFunction('webhook-delivery', ports.delivery, both),
  ]);

  // The relay runs in Kai's long-running process (here, the test) and publishes to QStash.
  relay = composeDelivery({
    db,
    logger: testLogger,
    config: testDeliveryConfig({
      retries: 2,
      schedule: { baseMs: 1000, maxMs: 10_000 },
      transport: {
        kind: 'qstash',
        baseUrl: qstash.url,
        token: qstash.token,
        deliveryUrl: urls.delivery,
        callbackUrl: urls.callback,
      },
      signingKeys: qstash.signingKeys,
    }),
    relayPollIntervalMs: 100,
  });
  await relay.start(stop.signal);
}, 120_000);

afterAll(async () => {
  stop.abort();
  await relay?.drain();
  for (const child of children) child.kill('SIGTERM');
  await Promise.all([receiver?.close(), qstash?.close()]);
  await db?.close();
  const admin = adminSql(SERVER_URL);
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end();
});

describe('under Deno', () => {
  it('webhook-delivery delivers what QStash brings, verified by standardwebhooks', async () => {
    receiver.received.length = 0;
    receiver.answer(() => ({ status: 200 }));
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    await db.transaction((tx) =>
      recordEvent(tx, { type: 'job.completed', ownerId: owner, data: { jobId: 'deno-1' } }),
    );

    const hook = await waitFor(() => receiver.received[0], 'the webhook', 20_000);
    expect(hook.verifyError).toBeUndefined();
    expect(hook.verified).toMatchObject({ type: 'job.completed', data: { jobId: 'deno-1' } });
    await waitFor(async () => (await statusOf(endpoint))?.status === 'delivered', 'delivered');
  });

  it('qstash-callback turns QStash giving up into a dead letter', async () => {
    receiver.received.length = 0;
    receiver.answer(() => ({ status: 500 }));
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    await db.transaction((tx) =>
      recordEvent(tx, { type: 'job.completed', ownerId: owner, data: {} }),
    );

    const row = await waitFor(
      async () => {
        const r = await statusOf(endpoint);
        return r?.status === 'dead' ? r : undefined;
      },
      'dead',
      20_000,
    );
    const published = qstash.published.find((p) => p.body.includes(row.id));
    const outcome = await waitFor(
      () => {
        const o = qstash.outcomes.get(published?.messageId as string);
        return o?.done ? o : undefined;
      },
      'the failure callback',
      20_000,
    );
    expect(outcome.tries).toHaveLength(3);
    expect(outcome.failureCallback).toMatchObject({ url: `${urls.callback}/failure`, status: 200 });
    expect(receiver.received).toHaveLength(3);
  });

  it('a QStash signature made for another destination gets 401', async () => {
    const body = JSON.stringify({ deliveryId: randomUUID(), replay: 0, retriedBefore: 0 });
    const now = Math.floor(Date.now() / 1000);
    const elsewhere = await new SignJWT({
      body: createHash('sha256').update(body).digest('base64url'),
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('Upstash')
      .setSubject('https://other.example.com/hook')
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode(qstash.signingKeys.current));
    const response = await fetch(urls.delivery as string, {
      method: 'POST',
      headers: { 'upstash-signature': elsewhere },
      body,
    });
    expect(response.status).toBe(401);
  });

  it('a forged signature gets 401 from the Deno function', async () => {
    const body = JSON.stringify({ deliveryId: randomUUID(), replay: 0, retriedBefore: 0 });
    const response = await fetch(urls.delivery as string, {
      method: 'POST',
      headers: {
        'upstash-signature': await signLikeQstash('sig_forged', urls.delivery as string, body),
      },
      body,
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('invalid_signature');
  });
});

describe('on Node', () => {
  it('the same webhook-delivery app verifies and delivers', async () => {
    receiver.received.length = 0;
    receiver.answer(() => ({ status: 200 }));
    const { app, edge } = createWebhookDeliveryFunction({
      DATABASE_URL: databaseUrl(SERVER_URL, dbName),
      LOG_LEVEL: 'silent',
      QSTASH_CURRENT_SIGNING_KEY: 'sig_node_current',
      QSTASH_NEXT_SIGNING_KEY: 'sig_node_next',
      OUTBOUND_ALLOW_CIDRS: '127.0.0.1',
    });
    const owner = randomUUID();
    const endpoint = await endpointFor(owner);
    const [row] = await db.query<{ id: string }>(
      `insert into public.deliveries (event_id, event_type, channel, owner_id, endpoint_id, payload,
         max_attempts) values ($1, 'job.completed', 'webhook', $2, $3, '{"type":"job.completed"}', 1)
       returning id`,
      [randomUUID(), owner, endpoint.id],
    );
    const body = JSON.stringify({ deliveryId: row?.id, replay: 0, retriedBefore: 0 });
    const url = 'https://project.supabase.co/functions/v1/webhook-delivery';

    const forged = await app.request(url, {
      method: 'POST',
      headers: { 'upstash-signature': await signLikeQstash('sig_other', url, body) },
      body,
    });
    expect(forged.status).toBe(401);
    expect(receiver.received).toHaveLength(0);

    // Signed with the next key: QStash's rotation is covered by the Receiver.
    const signed = await app.request(url, {
      method: 'POST',
      headers: { 'upstash-signature': await signLikeQstash('sig_node_next', url, body) },
      body,
    });
    expect(signed.status).toBe(200);
    expect(await signed.json()).toMatchObject({ outcome: 'delivered' });
    expect(receiver.received[0]?.verifyError).toBeUndefined();
    await edge.close();
  });
});
