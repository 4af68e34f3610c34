/**
 * Target URLs as people write them: the WebSocket URL itself, or the address
 * `samesong serve` prints (http://127.0.0.1:8080), which means its /ws.
 */

/** ws(s)://… as is; http(s)://host[:port][/] → ws(s)://host[:port]/ws; null when neither. */
export function toWebSocketUrl(s: string): string | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol === 'ws:' || u.protocol === 'wss:') return s;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/ws';
  return u.toString();
}
