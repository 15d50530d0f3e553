import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as a number: 32 bits for IPv4, 128 bits for IPv6. */
export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

/** Parses an IPv4 or IPv6 literal (brackets and a zone id allowed); null when it is neither. */
export function parseIp(text: string): ParsedIp | null {
  let address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);

  if (isIPv4(address)) return { family: 4, value: ipv4Value(address) };
  if (isIPv6(address)) return { family: 6, value: ipv6Value(address) };
  return null;
}

function ipv4Value(address: string): bigint {
  return address
    .split('.')
    .reduce((value, octet) => (value << 8n) | BigInt(Number.parseInt(octet, 10)), 0n);
}

function ipv6Value(address: string): bigint {
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Value(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }

  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - restGroups.length;
  const groups =
    rest === undefined ? headGroups : [...headGroups, ...Array(missing).fill('0'), ...restGroups];

  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/** Formats a parsed address back to text (IPv6 uncompressed), for messages. */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(((ip.value >> shift) & 0xffffn).toString(16));
  }
  return groups.join(':');
}

/** A CIDR block, parsed once. */
export interface Cidr {
  family: 4 | 6;
  base: bigint;
  prefix: number;
  label: string;
}

/** Parses `a.b.c.d/n` or `x::/n`; throws on anything else, since blocks are written in code. */
export function parseCidr(text: string, label = text): Cidr {
  const [address = '', bits] = text.split('/');
  const ip = parseIp(address);
  if (!ip) throw new Error(`${text} is not a CIDR block.`);
  const width = ip.family === 4 ? 32 : 128;
  const prefix = bits === undefined ? width : Number.parseInt(bits, 10);
  if (!(prefix >= 0 && prefix <= width)) throw new Error(`${text} has a bad prefix length.`);
  return { family: ip.family, base: ip.value, prefix, label };
}

/** Whether `ip` lies inside `cidr` (same family only). */
export function cidrContains(cidr: Cidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  const width = BigInt(ip.family === 4 ? 32 : 128);
  const shift = width - BigInt(cidr.prefix);
  return ip.value >> shift === cidr.base >> shift;
}
