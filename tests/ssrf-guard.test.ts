import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGuardedHttpClient,
  type GuardedHttpClient,
  OutboundRequestError,
} from '../core/net/guarded-http.ts';
import { createOutboundGuard, type Resolver, UnsafeUrlError } from '../core/net/outbound-guard.ts';
import { type LocalServer, listenLocal } from './helpers/fake-http-server.ts';

// Public addresses to resolve names to in these tests; nothing is sent to them.
const PUBLIC_V4 = '93.184.216.34';

const fixedResolver =
  (answers: Record<string, string[]>): Resolver =>
  async (hostname) => {
    const found = answers[hostname];
    if (!found) throw new Error(`ENOTFOUND ${hostname}`);
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('the SSRF guard refuses what is not the public internet', () => {
  const guard = createOutboundGuard({
    resolve: fixedResolver({
      'loopback.example': ['127.0.0.1'],
      'mixed.example': [PUBLIC_V4, '10.0.0.7'],
      'v6loop.example': ['::1'],
      'public.example': [PUBLIC_V4, '2606:4700::1111'],
    }),
  });

  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.255.0.1:8080/x', 'loopback'],
    ['http://10.1.2.3/', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://172.31.255.255/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://100.64.0.1/', 'carrier-grade NAT'],
    ['http://100.100.100.200/', 'carrier-grade NAT'],
    ['http://0.0.0.0/', 'this network'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://239.255.255.250/', 'multicast'],
    ['http://255.255.255.255/', 'reserved'],
    ['http://198.18.0.1/', 'benchmarking'],
    ['http://[::1]/', 'loopback'],
    ['http://[::]/', 'unspecified'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://[fc00::1]/', 'unique local'],
    ['http://[fd00:ec2::254]/', 'unique local'],
    ['http://[ff02::1]/', 'multicast'],
    ['http://[::ffff:127.0.0.1]/', 'loopback, inside an IPv6 address'],
    ['http://[::ffff:7f00:1]/', 'loopback, inside an IPv6 address'],
    ['http://[::ffff:169.254.169.254]/', 'link-local'],
    ['http://[::127.0.0.1]/', 'loopback, inside an IPv6 address'],
    ['http://[64:ff9b::a00:1]/', 'private, inside an IPv6 address'],
    ['http://[64:ff9b::127.0.0.1]/', 'loopback, inside an IPv6 address'],
    ['http://[2002:7f00:1::]/', 'loopback, inside an IPv6 address'],
    ['http://[2001:db8::1]/', 'documentation'],
    // WHATWG URL parsing turns these spellings into 127.0.0.1 before the guard sees them.
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://loopback.example/', 'loopback'],
    ['http://mixed.example/', 'private'],
    ['http://v6loop.example/', 'loopback'],
    ['http://localhost:3000/', 'local'],
    ['http://api.localhost/', 'local'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['ftp://public.example/', 'Only http and https'],
    ['file:///etc/passwd', 'Only http and https'],
    ['gopher://public.example/', 'Only http and https'],
    ['http://user:pw@public.example/', 'credentials'],
    ['http://nowhere.example/', 'does not resolve'],
  ])('%s is refused (%s)', async (url, reason) => {
    const refusal = guard.checkUrl(url);
    await expect(refusal).rejects.toBeInstanceOf(UnsafeUrlError);
    await expect(refusal).rejects.toThrow(reason);
  });

  it.each([
    'https://public.example/hooks',
    'http://93.184.216.34/',
    'http://[2606:4700::1111]/',
    'http://[::ffff:93.184.216.34]/',
    'http://[64:ff9b::5db8:d822]/',
  ])('%s is allowed', async (url) => {
    await expect(guard.checkUrl(url)).resolves.toBeInstanceOf(URL);
  });

  it('allows 127.0.0.1 only when the policy says so', async () => {
    const permissive = createOutboundGuard({ allow: ['127.0.0.1'] });
    await expect(permissive.checkUrl('http://127.0.0.1:9/')).resolves.toBeInstanceOf(URL);
    await expect(permissive.checkUrl('http://127.0.0.2:9/')).rejects.toThrow('loopback');
    await expect(permissive.checkUrl('http://10.0.0.1/')).rejects.toThrow('private');
  });
});

describe('the guarded client', () => {
  let sink: LocalServer;
  let lastPath = '';
  let client: GuardedHttpClient;

  beforeAll(async () => {
    sink = await listenLocal(async (request, response) => {
      lastPath = request.url ?? '';
      if (request.url === '/redirect') {
        response.writeHead(302, { location: `${sink.url}/target` });
        response.end();
      } else if (request.url === '/big') {
        response.writeHead(200);
        response.end('x'.repeat(200_000));
      } else if (request.url === '/slow') {
        setTimeout(() => response.end('late'), 2000);
      } else {
        response.end('hello');
      }
    });
    client = createGuardedHttpClient({
      timeoutMs: 500,
      maxResponseBytes: 1000,
      allow: ['127.0.0.1'],
    });
  });

  afterAll(async () => {
    client.close();
    await sink.close();
  });

  it('refuses loopback by default, before connecting', async () => {
    const strict = createGuardedHttpClient({ timeoutMs: 500 });
    lastPath = '';
    const refused = strict.send({ url: `${sink.url}/never`, method: 'GET' });
    await expect(refused).rejects.toBeInstanceOf(OutboundRequestError);
    await expect(refused).rejects.toMatchObject({ kind: 'refused' });
    expect(lastPath).toBe('');
    strict.close();
  });

  it('does not follow redirects', async () => {
    const response = await client.send({ url: `${sink.url}/redirect`, method: 'GET' });
    expect(response.status).toBe(302);
    expect(lastPath).toBe('/redirect');
  });

  it('caps the response body', async () => {
    const response = await client.send({ url: `${sink.url}/big`, method: 'GET' });
    expect(response.body).toHaveLength(1000);
    expect(response.truncated).toBe(true);
  });

  it('times out', async () => {
    await expect(client.send({ url: `${sink.url}/slow`, method: 'GET' })).rejects.toMatchObject({
      kind: 'timeout',
    });
  });

  it('checks the address it connects to, not an earlier answer (DNS rebinding)', async () => {
    // The name resolves to a public address when checked ahead, then to loopback.
    let calls = 0;
    const rebinding = createGuardedHttpClient({
      timeoutMs: 500,
      resolve: async () => {
        calls += 1;
        return [{ address: calls === 1 ? PUBLIC_V4 : '127.0.0.1', family: 4 }];
      },
    });
    await expect(rebinding.checkUrl(`http://rebind.example:${sink.port}/`)).resolves.toBeInstanceOf(
      URL,
    );
    lastPath = '';
    const refused = rebinding.send({
      url: `http://rebind.example:${sink.port}/rebound`,
      method: 'GET',
    });
    await expect(refused).rejects.toMatchObject({ kind: 'refused' });
    expect(lastPath).toBe('');
    rebinding.close();
  });

  it('connects to the checked address of an allowed name', async () => {
    const named = createGuardedHttpClient({
      timeoutMs: 500,
      allow: ['127.0.0.1'],
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    const response = await named.send({
      url: `http://sink.example:${sink.port}/named`,
      method: 'GET',
    });
    expect(response.body).toBe('hello');
    expect(response.remoteAddress).toBe('127.0.0.1');
    named.close();
  });
});
