import { type Cidr, cidrContains, type ParsedIp, parseCidr } from './ip-address.ts';

/** IPv4 ranges no webhook or provider URL may reach: not the public internet. */
const BLOCKED_V4: readonly Cidr[] = [
  ['0.0.0.0/8', 'this network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (cloud metadata)'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
].map(([cidr, label]) => parseCidr(cidr as string, label));

/** IPv6 ranges refused outright. Forms that embed an IPv4 address are judged by it instead. */
const BLOCKED_V6: readonly Cidr[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard'],
  ['2001::/23', 'IETF protocol assignments (Teredo included)'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'segment routing'],
  ['fc00::/7', 'unique local (private)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
].map(([cidr, label]) => parseCidr(cidr as string, label));

/** IPv6 prefixes whose low 32 bits (or, for 6to4, bits 16-48) carry an IPv4 address. */
const MAPPED_V4 = parseCidr('::ffff:0:0/96', 'IPv4-mapped');
const TRANSLATED_V4 = parseCidr('::ffff:0:0:0/96', 'IPv4-translated');
const COMPAT_V4 = parseCidr('::/96', 'IPv4-compatible');
const NAT64_V4 = parseCidr('64:ff9b::/96', 'NAT64 well-known prefix');
const SIX_TO_FOUR = parseCidr('2002::/16', '6to4');

/** The IPv4 address an IPv6 address stands for, when it embeds one. */
export function embeddedIpv4(ip: ParsedIp): ParsedIp | null {
  if (ip.family !== 6) return null;
  for (const prefix of [MAPPED_V4, TRANSLATED_V4, NAT64_V4, COMPAT_V4]) {
    if (cidrContains(prefix, ip)) return { family: 4, value: ip.value & 0xffffffffn };
  }
  if (cidrContains(SIX_TO_FOUR, ip)) return { family: 4, value: (ip.value >> 80n) & 0xffffffffn };
  return null;
}

/**
 * Why `ip` may not be reached, or null when it is a public address. IPv6 forms embedding an
 * IPv4 address (mapped, translated, compatible, NAT64, 6to4) are judged by that address.
 */
export function blockedReason(ip: ParsedIp): string | null {
  if (ip.family === 6) {
    // :: and ::1 sit inside the IPv4-compatible prefix but are IPv6's own specials.
    const own = BLOCKED_V6.slice(0, 2).find((cidr) => cidrContains(cidr, ip));
    if (own) return own.label;

    const v4 = embeddedIpv4(ip);
    if (v4) {
      const reason = blockedReason(v4);
      return reason === null ? null : `${reason}, inside an IPv6 address`;
    }
  }

  const ranges = ip.family === 4 ? BLOCKED_V4 : BLOCKED_V6;
  return ranges.find((cidr) => cidrContains(cidr, ip))?.label ?? null;
}
