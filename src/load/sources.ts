/**
 * Source addresses for outgoing connections. A socket that connects without
 * choosing its source gets an ephemeral port that the kernel shares across
 * targets (a port is unique per source and target): about 28k connections per
 * target. A socket bound to a source address first holds its port for that
 * address alone, whatever the target: about 28k per address. So past 28k per
 * target the generator binds, and spreads its connections over enough
 * addresses (loopback: 127.0.0.2, 127.0.0.3, …).
 */
import { readFileSync } from 'node:fs';

/** Ephemeral ports per source address: net.ipv4.ip_local_port_range (32768–60999 by default). */
export function ephemeralPorts(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo! > 0 && hi! >= lo!) return hi! - lo! + 1;
  } catch {
    /* not Linux */
  }
  return 28_232;
}

const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function validIp(ip: string): boolean {
  const m = IPV4.exec(ip);
  return !!m && m.slice(1).every((o) => Number(o) <= 255);
}

/** "127.0.0.2-127.0.0.40", "127.0.0.0/28" or one address → the list; throws with a message on bad input. */
export function parseSources(specs: readonly string[]): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    const range = /^([\d.]+)-([\d.]+)$/.exec(spec);
    const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(spec);
    if (range && validIp(range[1]!) && validIp(range[2]!)) {
      const [a, b] = [toInt(range[1]!), toInt(range[2]!)];
      if (b < a) throw new Error(`--source ${spec}: the range ends before it starts`);
      if (b - a > 65_535) throw new Error(`--source ${spec}: more than 65,536 addresses`);
      for (let n = a; n <= b; n++) out.push(toIp(n));
    } else if (cidr && validIp(cidr[1]!) && Number(cidr[2]) <= 32 && Number(cidr[2]) >= 16) {
      const bits = 32 - Number(cidr[2]);
      const start = Math.floor(toInt(cidr[1]!) / 2 ** bits) * 2 ** bits;
      const size = 2 ** bits;
      // Skip the network and broadcast addresses of real subnets; a /32 is one host.
      for (let n = size > 2 ? 1 : 0; n < (size > 2 ? size - 1 : size); n++) out.push(toIp(start + n));
    } else if (validIp(spec)) out.push(spec);
    else throw new Error(`--source ${spec}: expected an address, a range A-B or a CIDR (/16 to /32)`);
  }
  return out;
}

/**
 * Enough loopback addresses for `users` when every target is on loopback; none
 * (let the kernel choose) while the targets' own port ranges suffice, or when a
 * target is elsewhere. A fifth of the ports is left for TIME_WAIT and others.
 */
export function defaultSources(
  targets: readonly string[],
  users: number,
  ports = ephemeralPorts(),
): string[] {
  const loopback = targets.every((t) => /^wss?:\/\/(127\.|localhost[:/])/.test(t));
  const usable = ports * 0.8;
  if (!loopback || users <= usable * new Set(targets).size) return [];
  // Bound sockets: each address serves every target from one range of ports.
  const n = Math.min(250, Math.ceil(users / usable));
  return parseSources([`127.0.0.2-127.0.0.${n + 1}`]);
}
