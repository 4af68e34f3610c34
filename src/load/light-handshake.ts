/**
 * The client side of the WebSocket opening handshake (RFC 6455 §4), by hand:
 * the Upgrade request as one string, and the checks on the response head.
 * Used by LightSocket; no extensions, subprotocols, redirects or proxies.
 */

export interface LightTarget {
  host: string;
  port: number;
  /** The request up to the key. */
  head: string;
}

const targets = new Map<string, LightTarget>();

/** The connection target and request prefix for a ws:// URL (cached: a run has few targets). */
export function targetOf(url: string): LightTarget {
  let t = targets.get(url);
  if (t) return t;
  const u = new URL(url);
  if (u.protocol !== 'ws:') throw new TypeError(`LightSocket speaks ws:// only, not ${u.protocol}`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  t = {
    host,
    port: u.port ? Number(u.port) : 80,
    head:
      `GET ${u.pathname || '/'}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ',
  };
  if (targets.size < 1024) targets.set(url, t);
  return t;
}

export function handshakeRequest(target: LightTarget, key: string): string {
  return target.head + key + '\r\n\r\n';
}

/**
 * Checks a response head (status line and header lines, without the blank
 * line) against the accept value expected for our key; returns what is wrong,
 * or null when the server switched to WebSocket.
 */
export function parseHandshake(head: string, expectedAccept: string): string | null {
  const lines = head.split('\r\n');
  const status = lines[0]!;
  const m = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(status);
  if (!m) return `Invalid HTTP status line: ${JSON.stringify(status.slice(0, 64))}`;
  if (m[1] !== '101') return `Unexpected server response: ${m[1]}`;
  let upgrade = '';
  let connection = '';
  let accept: string | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return 'Invalid HTTP header line';
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'upgrade') upgrade = value;
    else if (name === 'connection') connection = value;
    else if (name === 'sec-websocket-accept') accept = accept === null ? value : '';
    else if (name === 'sec-websocket-protocol') return 'Server sent a subprotocol but none was requested';
    else if (name === 'sec-websocket-extensions')
      return 'Server sent a Sec-WebSocket-Extensions header but no extension was requested';
  }
  if (upgrade.toLowerCase() !== 'websocket') return 'Invalid Upgrade header';
  if (!connection.split(',').some((t) => t.trim().toLowerCase() === 'upgrade'))
    return 'Invalid Connection header';
  if (accept !== expectedAccept) return 'Invalid Sec-WebSocket-Accept header';
  return null;
}
