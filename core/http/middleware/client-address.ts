import type { Context } from 'hono';

/** The Node server (@hono/node-server) passes the raw request as `c.env.incoming`. */
interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } };
}

/**
 * The address a request came from, for rate limiting callers that are not authenticated.
 *
 * - On Node the socket's peer is the truth, unless `trustProxy` says a proxy (an ingress, a
 *   load balancer) stands in front: then that proxy's `X-Real-IP`, or the last hop it appended
 *   to `X-Forwarded-For`.
 * - Where there is no socket (Vercel and other serverless platforms) the platform's own headers
 *   are used; Vercel overwrites both, so callers cannot forge them there.
 *
 * IPv6 addresses are cut to their /64 network, since one subscriber usually holds a whole /64.
 * Returns `unknown` when nothing tells (a request made in-process, as in tests).
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  const socketAddress = (c.env as NodeBindings | undefined)?.incoming?.socket?.remoteAddress;
  if (socketAddress && !trustProxy) return networkOf(socketAddress);

  const realIp = c.req.header('x-real-ip')?.trim();
  if (realIp) return networkOf(realIp);
  const forwarded = c.req.header('x-forwarded-for');
  const lastHop = forwarded?.split(',').at(-1)?.trim();
  if (lastHop) return networkOf(lastHop);

  return socketAddress ? networkOf(socketAddress) : 'unknown';
}

/** An IPv4 address as is; an IPv6 address as its /64 prefix (`2001:db8:1:2::/64`). */
export function networkOf(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (!bare.includes(':')) return bare.slice(0, 64);

  // IPv4 mapped into IPv6 (how a dual-stack Node socket reports IPv4 peers).
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped?.[1]) return mapped[1];

  const [head = '', tail = ''] = bare.split('::', 2);
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = bare.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const missing = Math.max(0, 8 - headParts.length - tailParts.length);
  const groups = [...headParts, ...Array(missing).fill('0'), ...tailParts];
  const prefix = groups.slice(0, 4).map((g) => (g.replace(/^0+/, '') || '0').slice(0, 4));
  return `${prefix.join(':')}::/64`;
}
