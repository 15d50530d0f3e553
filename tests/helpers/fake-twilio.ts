import { randomBytes } from 'node:crypto';
import { type LocalServer, listenLocal, readBody, sendJson } from './fake-http-server.ts';

/** One SMS the fake accepted. */
export interface SentSms {
  sid: string;
  to: string;
  from: string;
  body: string;
}

/** A local server speaking Twilio's Messages API. */
export interface FakeTwilio extends LocalServer {
  messages: SentSms[];
}

/**
 * Starts a fake Twilio: `POST /2010-04-01/Accounts/{Sid}/Messages.json`, form-encoded, Basic
 * auth with the account SID and auth token (401 code 20003 otherwise); 400 code 21604 without
 * `To`, 21602 without `Body`; 201 with the message resource otherwise.
 */
export async function startFakeTwilio(accountSid: string, authToken: string): Promise<FakeTwilio> {
  const messages: SentSms[] = [];
  const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;

  const server = await listenLocal(async (request, response) => {
    if (request.method !== 'POST' || request.url !== path) {
      sendJson(response, 404, {
        code: 20404,
        message: 'The requested resource was not found',
        status: 404,
      });
      return;
    }
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
    if (request.headers.authorization !== expected) {
      sendJson(response, 401, { code: 20003, message: 'Authenticate', status: 401 });
      return;
    }
    if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
      sendJson(response, 400, { code: 20001, message: 'Bad content type', status: 400 });
      return;
    }

    const form = new URLSearchParams(await readBody(request));
    const to = form.get('To');
    const body = form.get('Body');
    if (!to) {
      sendJson(response, 400, {
        code: 21604,
        message: "A 'To' phone number is required.",
        status: 400,
      });
      return;
    }
    if (!body) {
      sendJson(response, 400, { code: 21602, message: 'Message body is required.', status: 400 });
      return;
    }
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const from = form.get('From') ?? '';
    messages.push({ sid, to, from, body });
    sendJson(response, 201, {
      sid,
      account_sid: accountSid,
      to,
      from,
      body,
      status: 'queued',
      direction: 'outbound-api',
      date_created: new Date().toUTCString(),
      uri: `${path.replace('.json', '')}/${sid}.json`,
    });
  });

  return { ...server, messages };
}
