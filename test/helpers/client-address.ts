/**
 * Source addresses for test clients: each client connects from its own
 * loopback address (127.1.x.y), as if each were a different household, so that
 * the per-address limits, at their defaults, treat test clients as they treat
 * real users. Tests that open many connections from one address (load runs)
 * exempt loopback instead (--exempt-addresses).
 */
let next = 0;

/** A loopback source address not handed out recently (65,024 before one repeats). */
export function nextClientAddress(): string {
  const n = next++ % (254 * 256);
  return `127.1.${Math.floor(n / 254)}.${(n % 254) + 1}`;
}
