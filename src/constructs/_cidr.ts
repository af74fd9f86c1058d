// Private: CIDR arithmetic for NetworkPolicy ipBlocks (IPv4 and IPv6), so an `except`
// entry is only written inside the block it narrows (the API server rejects others).

/** An address as a number, its family and the prefix length of a block. */
export interface ParsedCidr {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefix: number;
}

/** Parses '10.0.0.0/8', '2001:db8::/32' or a plain address (a /32 or /128); throws on anything else. */
export function parseCidr(value: string): ParsedCidr {
  const [address, prefixText] = value.split('/');
  const family = address.includes(':') ? 6 : 4;
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new Error(`'${value}' is not a CIDR block; expected e.g. 203.0.113.0/24`);
  }
  const addressValue = family === 4 ? parseIpv4(address, value) : parseIpv6(address, value);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
  return { family, network: addressValue & mask, prefix };
}

/** Whether `inner` lies entirely inside `outer` (same family, longer or equal prefix). */
export function cidrContains(outer: string, inner: string): boolean {
  const a = parseCidr(outer);
  const b = parseCidr(inner);
  if (a.family !== b.family || b.prefix < a.prefix) {
    return false;
  }
  return parseCidr(`${formatNetwork(b)}/${a.prefix}`).network === a.network;
}

function formatNetwork(c: ParsedCidr): string {
  if (c.family === 4) {
    return [24, 16, 8, 0].map((shift) => Number((c.network >> BigInt(shift)) & 255n)).join('.');
  }
  const groups: string[] = [];
  for (let shift = 112; shift >= 0; shift -= 16) {
    groups.push(((c.network >> BigInt(shift)) & 0xffffn).toString(16));
  }
  return groups.join(':');
}

function parseIpv4(address: string, original: string): bigint {
  const octets = address.split('.');
  if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) {
    throw new Error(`'${original}' is not a CIDR block; expected e.g. 203.0.113.0/24`);
  }
  return octets.reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function parseIpv6(address: string, original: string): bigint {
  const halves = address.split('::');
  if (halves.length > 2) {
    throw new Error(`'${original}' is not a CIDR block; expected e.g. 2001:db8::/32`);
  }
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0 || ![...head, ...tail].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) {
    throw new Error(`'${original}' is not a CIDR block; expected e.g. 2001:db8::/32`);
  }
  const groups = [...head, ...Array(missing).fill('0'), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
