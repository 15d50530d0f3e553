import { createDecipheriv, createECDH, createHmac, randomBytes } from 'node:crypto';
import { importSPKI, jwtVerify } from 'jose';
import { type LocalServer, listenLocal } from './fake-http-server.ts';

/** A browser's subscription keys, with the private half the fake decrypts with. */
export interface FakeSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** One push the fake accepted: its decrypted payload and the VAPID claims. */
export interface ReceivedPush {
  payload: string;
  ttl: string | undefined;
  vapidSubject: unknown;
}

/** A Web Push service (RFC 8030) that verifies VAPID (RFC 8292) and decrypts (RFC 8291). */
export interface FakePushService extends LocalServer {
  pushes: ReceivedPush[];
  /** A subscription on this service, as a browser's PushManager would hand it out. */
  subscribe(): FakeSubscription;
  /** Makes the subscription expire: pushes to it answer 410 from now on. */
  expire(endpoint: string): void;
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

function decrypt(body: Buffer, uaPrivate: ReturnType<typeof createECDH>, auth: Buffer): string {
  // Header: salt (16) | record size (4) | key id length (1) | key id (the sender's public key).
  const salt = body.subarray(0, 16);
  const idLength = body.readUInt8(20);
  const asPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);

  const uaPublic = uaPrivate.getPublicKey();
  const ecdhSecret = uaPrivate.computeSecret(asPublic);
  const prkKey = hmac(auth, ecdhSecret);
  const keyInfo = Buffer.concat([
    Buffer.from('WebPush: info\0'),
    uaPublic,
    asPublic,
    Buffer.from([1]),
  ]);
  const ikm = hmac(prkKey, keyInfo);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);

  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, -16)), decipher.final()]);
  // The last record ends with the delimiter 0x02 and zero padding.
  const end = padded.lastIndexOf(2);
  return padded.subarray(0, end).toString('utf8');
}

/** Starts the fake push service; `vapidPublicKey` is the sender's (base64url, uncompressed). */
export async function startFakePushService(vapidPublicKey: string): Promise<FakePushService> {
  const pushes: ReceivedPush[] = [];
  const subscriptions = new Map<string, { ecdh: ReturnType<typeof createECDH>; auth: Buffer }>();
  const expired = new Set<string>();

  // The VAPID key as SPKI, for jose.
  const raw = Buffer.from(vapidPublicKey, 'base64url');
  const spkiPrefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
  const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([spkiPrefix, raw]).toString('base64')}\n-----END PUBLIC KEY-----`;
  const vapidKey = await importSPKI(pem, 'ES256');

  let base = '';
  const server = await listenLocal(async (request, response) => {
    const id = request.url?.slice('/push/'.length) ?? '';
    const subscription = subscriptions.get(id);
    if (!subscription) {
      response.writeHead(404).end();
      return;
    }
    if (expired.has(id)) {
      response.writeHead(410).end();
      return;
    }

    // Authorization: vapid t=<jwt>, k=<public key>
    const match = /^vapid t=([^,]+), k=(.+)$/.exec(request.headers.authorization ?? '');
    if (!match || match[2] !== vapidPublicKey) {
      response.writeHead(401).end('bad vapid header');
      return;
    }
    let claims: { sub?: unknown };
    try {
      ({ payload: claims } = await jwtVerify(match[1] as string, vapidKey, { audience: base }));
    } catch (error) {
      response.writeHead(403).end(String(error));
      return;
    }
    if (request.headers['content-encoding'] !== 'aes128gcm') {
      response.writeHead(415).end('aes128gcm only');
      return;
    }

    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    pushes.push({
      payload: decrypt(Buffer.concat(chunks), subscription.ecdh, subscription.auth),
      ttl: request.headers.ttl as string | undefined,
      vapidSubject: claims.sub,
    });
    response
      .writeHead(201, { location: `${base}/message/${randomBytes(8).toString('hex')}` })
      .end();
  });
  base = server.url;

  return {
    ...server,
    pushes,
    subscribe() {
      const id = randomBytes(8).toString('hex');
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      subscriptions.set(id, { ecdh, auth });
      return {
        endpoint: `${base}/push/${id}`,
        keys: {
          p256dh: ecdh.getPublicKey().toString('base64url'),
          auth: auth.toString('base64url'),
        },
      };
    },
    expire(endpoint) {
      expired.add(endpoint.split('/push/')[1] ?? '');
    },
  };
}
