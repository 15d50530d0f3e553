import { lookup as dnsLookup } from 'node:dns/promises';
import { KaiError } from '../errors.ts';
import { blockedReason } from './blocked-ranges.ts';
import { type Cidr, cidrContains, type ParsedIp, parseCidr, parseIp } from './ip-address.ts';

/** An outbound URL or address Kai refuses to reach (SSRF guard). */
export class UnsafeUrlError extends KaiError {
  constructor(detail: string) {
    super({ code: 'unsafe_url', status: 422, title: 'URL not allowed', detail });
  }
}

/** Resolves a host name to every address it has, as `dns.lookup(name, { all: true })` does. */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

/** What the guard allows beyond the public internet. Empty by default: nothing. */
export interface OutboundPolicy {
  /**
   * Addresses or CIDR blocks allowed even though they are not public, such as `127.0.0.1` for
   * a test's local receiver. Never set by default.
   */
  allow?: readonly string[];
  /** Resolves host names; `dns.lookup` unless given. */
  resolve?: Resolver;
}

/** Host names that name the machine itself or a cloud's metadata service. */
const BLOCKED_NAMES = [/^localhost$/i, /\.localhost$/i, /^metadata\.google\.internal$/i];

const defaultResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** A compiled policy: the allow list parsed once. */
export interface OutboundGuard {
  /** Checks the URL's scheme and host; resolves the host and checks every address. */
  checkUrl(url: string): Promise<URL>;
  /** Throws `UnsafeUrlError` unless `address` may be connected to. */
  checkAddress(address: string, hostname?: string): void;
  /** Resolves `hostname` and returns its addresses once every one of them passed. */
  resolve(hostname: string): Promise<{ address: string; family: 4 | 6 }[]>;
}

/** Builds the SSRF guard every outbound request of Kai goes through. */
export function createOutboundGuard(policy: OutboundPolicy = {}): OutboundGuard {
  const allowed: Cidr[] = (policy.allow ?? []).map((entry) => parseCidr(entry));
  const resolver = policy.resolve ?? defaultResolver;

  const isAllowed = (ip: ParsedIp) => allowed.some((cidr) => cidrContains(cidr, ip));

  const checkAddress = (address: string, hostname?: string) => {
    const ip = parseIp(address);
    const where = hostname && hostname !== address ? `${hostname} (${address})` : address;
    if (!ip) throw new UnsafeUrlError(`${where} is not an IP address Kai can check.`);
    if (isAllowed(ip)) return;
    const reason = blockedReason(ip);
    if (reason !== null) {
      throw new UnsafeUrlError(
        `${where} is a ${reason} address; Kai only sends to public internet addresses.`,
      );
    }
  };

  const resolve = async (hostname: string) => {
    let answers: { address: string; family: number }[];
    try {
      answers = await resolver(hostname);
    } catch (error) {
      throw new UnsafeUrlError(`${hostname} does not resolve: ${(error as Error).message}`);
    }
    if (answers.length === 0) throw new UnsafeUrlError(`${hostname} has no addresses.`);
    // Every address must pass: a name answering with one public and one private address could
    // otherwise be steered to the private one.
    for (const answer of answers) checkAddress(answer.address, hostname);
    return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }) as const);
  };

  return {
    checkAddress,
    resolve,

    async checkUrl(text) {
      if (!URL.canParse(text)) throw new UnsafeUrlError(`${JSON.stringify(text)} is not a URL.`);
      const url = new URL(text);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new UnsafeUrlError(`Only http and https URLs are allowed, not ${url.protocol}.`);
      }
      if (url.username !== '' || url.password !== '') {
        throw new UnsafeUrlError('URLs with credentials in them are not allowed.');
      }

      const host = url.hostname;
      const literal = parseIp(host);
      if (literal) {
        checkAddress(host);
        return url;
      }
      if (BLOCKED_NAMES.some((name) => name.test(host))) {
        // An allowed loopback still lets tests use localhost.
        const answers = await resolver(host).catch(() => []);
        const allAllowed =
          answers.length > 0 &&
          answers.every((a) => {
            const ip = parseIp(a.address);
            return ip !== null && isAllowed(ip);
          });
        if (!allAllowed) throw new UnsafeUrlError(`${host} names a local or metadata service.`);
        return url;
      }
      await resolve(host);
      return url;
    },
  };
}
