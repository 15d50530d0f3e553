import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One object the fake holds, as Supabase Storage keeps it. */
export interface FakeObject {
  body: Buffer;
  contentType: string;
}

/** A fake Supabase Storage: the REST contract of `/storage/v1/object`, on loopback. */
export interface FakeSupabaseStorage {
  url: string;
  serviceKey: string;
  objects: Map<string, FakeObject>;
  /** Every request's method, path and headers, in order. */
  requests: { method: string; path: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Starts a server that answers as Supabase Storage does for the calls Kai makes: upload
 * (`POST /storage/v1/object/{bucket}/{path}`, 200 `{ Key, Id }`, a second upload of a key
 * without `x-upsert: true` is refused as a duplicate), download (`GET`, the bytes with their
 * content type) and delete (`DELETE`); a missing object is 400 with "Object not found", a
 * wrong key 403, both as Storage's `{ statusCode, error, message }`.
 */
export async function startFakeSupabaseStorage(buckets: string[]): Promise<FakeSupabaseStorage> {
  const serviceKey = 'fake-service-role-key';
  const objects = new Map<string, FakeObject>();
  const requests: FakeSupabaseStorage['requests'] = [];

  const server: Server = createServer(async (request, response) => {
    const path = decodeURIComponent((request.url ?? '').split('?')[0] ?? '');
    requests.push({ method: request.method ?? '', path, headers: request.headers });
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const error = (status: number, statusCode: string, name: string, message: string) =>
      send(status, { statusCode, error: name, message });

    if (
      request.headers.authorization !== `Bearer ${serviceKey}` ||
      request.headers.apikey !== serviceKey
    ) {
      return error(403, '403', 'Unauthorized', 'invalid signature');
    }
    const match = /^\/storage\/v1\/object\/([^/]+)\/(.+)$/.exec(path);
    if (!match?.[1] || !match[2]) return error(400, '400', 'Bad Request', 'Invalid path');
    const [, bucket, name] = match;
    if (!buckets.includes(bucket)) return error(400, '404', 'Bucket not found', 'Bucket not found');
    const id = `${bucket}/${name}`;

    if (request.method === 'POST' || request.method === 'PUT') {
      const body = await bodyOf(request);
      if (objects.has(id) && request.headers['x-upsert'] !== 'true') {
        return error(409, '409', 'Duplicate', 'The resource already exists');
      }
      objects.set(id, {
        body,
        contentType: request.headers['content-type'] ?? 'application/octet-stream',
      });
      return send(200, { Key: id, Id: crypto.randomUUID() });
    }

    const object = objects.get(id);
    if (request.method === 'GET') {
      if (!object) return error(400, '404', 'not_found', 'Object not found');
      response.writeHead(200, { 'content-type': object.contentType });
      return response.end(object.body);
    }
    if (request.method === 'DELETE') {
      if (!object) return error(400, '404', 'not_found', 'Object not found');
      objects.delete(id);
      return send(200, { message: 'Successfully deleted' });
    }
    return error(405, '405', 'Method Not Allowed', 'Method not allowed');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    serviceKey,
    objects,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
