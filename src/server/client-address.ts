/**
 * The client's address: the socket's peer, or — only when the peer is a proxy
 * listed in `--trust-proxy` — the address the proxy passes on, by the PROXY
 * protocol (version 2 or 1, read before anything else on the connection, as
 * HAProxy's `send-proxy-v2` sends it) or, failing that, X-Forwarded-For.
 *
 * Address lists (`--trust-proxy`, `--exempt-addresses`) are CIDR lists,
 * matched by proxy-addr (the library Express uses for the same job).
 */
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';
import proxyProtocol from 'proxy-protocol-js';

/** True for the addresses of a list. */
export type AddressMatcher = (address: string) => boolean;

const NONE: AddressMatcher = () => false;

/** The named ranges `--trust-proxy` and `--exempt-addresses` accept besides CIDRs. */
const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** The CIDRs and addresses of a comma-separated list, names (loopback, private) written out. */
export function expandAddressList(list: string): string[] {
  return list
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .flatMap((p) => NAMED[p] ?? [p]);
}

/** The addresses of a comma-separated list of CIDRs, addresses and names (loopback, private); '' matches none. */
export function addressMatcher(list: string, flag = 'address list'): AddressMatcher {
  const ranges = expandAddressList(list);
  if (ranges.length === 0) return NONE;
  let trust: (address: string, i: number) => boolean;
  try {
    trust = proxyaddr.compile(ranges);
  } catch (err) {
    throw new Error(
      `${flag}: ${(err as Error).message} (expected addresses or CIDRs such as 10.0.0.0/8, or loopback, private)`,
    );
  }
  return (address) => trust(address, 0);
}

/** Checks an address list as a flag value; the message when it is bad. */
export function checkAddressList(list: string): string | null {
  try {
    addressMatcher(list);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** An address as text, IPv4-mapped IPv6 (::ffff:1.2.3.4) written as IPv4. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * What the per-address limits count by: an IPv4 address, or the /64 an IPv6
 * address is in (one subscriber is given at least a /64, so counting single
 * IPv6 addresses would give one person 2^64 of them).
 */
export function addressKey(address: string): string {
  if (!address.includes(':')) return address;
  try {
    const parts = ipaddr.IPv6.parse(address).parts;
    return `${parts
      .slice(0, 4)
      .map((p) => p.toString(16))
      .join(':')}::/64`;
  } catch {
    return address;
  }
}

/** The client address the PROXY protocol gave this socket, when it gave one. */
const PROXIED = Symbol('samesong.proxiedAddress');
type Marked = Socket & { [PROXIED]?: string; _parent?: Marked };

/** The socket's client address: the PROXY protocol's, else its peer's. */
export function socketAddress(socket: Socket): string {
  const s = socket as Marked;
  return s[PROXIED] ?? s._parent?.[PROXIED] ?? normalizeAddress(s.remoteAddress);
}

/** The client address a PROXY header gave, when one did. */
export function proxiedAddress(socket: Socket): string | undefined {
  const s = socket as Marked;
  return s[PROXIED] ?? s._parent?.[PROXIED];
}

/** Resolves the client address of requests by the rules above. */
export class ClientAddresses {
  readonly #trust: (address: string, i: number) => boolean;

  constructor(readonly trustProxy: AddressMatcher) {
    this.#trust = (address) => trustProxy(address);
  }

  /** The client address of a request (the WebSocket upgrade, a SockJS request). */
  of(req: IncomingMessage): string {
    const socket = req.socket;
    const proxied = proxiedAddress(socket);
    if (proxied !== undefined) return proxied;
    const peer = normalizeAddress(socket.remoteAddress);
    if (req.headers['x-forwarded-for'] === undefined || !this.trustProxy(peer)) return peer;
    // through every trusted hop, right to left; the first untrusted address is the client
    return normalizeAddress(proxyaddr(req, this.#trust));
  }
}

/** The PROXY protocol v2 signature; v1 starts with "PROXY ". */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** A v1 header is at most 107 bytes; v2's length field allows 16 + 65,535, far more than an address needs. */
const V1_MAX = 107;
const V2_MAX = 16 + 536;

/**
 * Puts `gate` before the server's own `connection` listeners (HTTP's, or TLS's
 * for https): each new socket reaches them only when `gate` passes it on, after
 * whatever it read or decided first (a PROXY header, a per-address limit).
 */
export function interceptConnections(
  server: Server,
  gate: (socket: Socket, pass: (socket: Socket) => void) => void,
): void {
  const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const pass = (socket: Socket) => {
    for (const listener of listeners) listener.call(server, socket);
  };
  server.on('connection', (socket: Socket) => gate(socket, pass));
}

/**
 * Reads a PROXY protocol header (v2, or v1) at the start of a connection from
 * a trusted peer, before TLS or HTTP see it: the header is taken off, the client
 * address it gives is recorded for socketAddress, and the bytes after it are
 * left for the server. A trusted peer may also send no header (its requests'
 * X-Forwarded-For is used then). `done(null)` when the socket can go on,
 * `done(reason)` when the header is bad; a peer silent for `timeoutMs` is
 * dropped (done is not called).
 */
export function readProxyHeader(
  socket: Socket,
  timeoutMs: number,
  done: (problem: string | null) => void,
): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const stop = () => {
    clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('error', onGone);
    socket.off('end', onGone);
  };
  const onGone = () => {
    stop();
    socket.destroy();
  };
  const onReadable = () => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null)
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const read = readHeader(seen);
    if (read === 'more') return;
    stop();
    if (typeof read === 'string') return done(read);
    if (read.address !== undefined) (socket as Marked)[PROXIED] = read.address;
    if (read.length < seen.length) socket.unshift(seen.subarray(read.length));
    done(null);
  };
  socket.on('readable', onReadable);
  socket.on('error', onGone);
  socket.on('end', onGone);
}

type Header = { length: number; address: string | undefined };

/** A header read from the start of `data`: its length and address, 'more' to wait, or why it is bad. */
export function readHeader(data: Buffer): Header | 'more' | string {
  if (startsLike(data, V2_SIGNATURE)) {
    if (data.length < 16) return 'more';
    const length = 16 + data.readUInt16BE(14);
    if (length > V2_MAX) return 'PROXY v2 header too long';
    if (data.length < length) return 'more';
    try {
      const header = proxyProtocol.V2ProxyProtocol.parse(new Uint8Array(data.subarray(0, length)));
      // LOCAL (a health check of the proxy itself) and UNSPEC carry no client
      if (header.command !== proxyProtocol.Command.PROXY) return { length, address: undefined };
      const a = header.proxyAddress;
      if (a instanceof proxyProtocol.IPv4ProxyAddress)
        return { length, address: a.sourceAddress.address.join('.') };
      if (a instanceof proxyProtocol.IPv6ProxyAddress)
        return {
          length,
          address: normalizeAddress(ipaddr.fromByteArray([...a.sourceAddress.address]).toString()),
        };
      return { length, address: undefined };
    } catch (err) {
      return `bad PROXY v2 header: ${(err as { message?: string }).message ?? String(err)}`;
    }
  }
  if (startsLike(data, V1_PREFIX)) {
    if (data.length < V1_PREFIX.length) return 'more';
    const end = data.indexOf('\r\n', 0, 'latin1');
    if (end < 0) return data.length >= V1_MAX ? 'PROXY v1 header too long' : 'more';
    const line = data.toString('latin1', 0, end + 2);
    if (line.startsWith('PROXY UNKNOWN')) return { length: end + 2, address: undefined };
    try {
      const header = proxyProtocol.V1ProxyProtocol.parse(line);
      return { length: end + 2, address: normalizeAddress(header.source.ipAddress) };
    } catch (err) {
      return `bad PROXY v1 header: ${(err as { message?: string }).message ?? String(err)}`;
    }
  }
  return { length: 0, address: undefined };
}

/** True when `data` starts like `prefix` as far as either goes. */
function startsLike(data: Buffer, prefix: Buffer): boolean {
  const n = Math.min(data.length, prefix.length);
  return n > 0 && data.subarray(0, n).equals(prefix.subarray(0, n));
}
