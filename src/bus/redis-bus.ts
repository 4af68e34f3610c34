/**
 * The Redis Bus: standalone Redis (PUBLISH/SUBSCRIBE) or Redis Cluster with
 * sharded pub/sub (SPUBLISH/SSUBSCRIBE), so each channel lives on one shard.
 * Reconnects and resubscribes by itself; while down, publish() rejects at once
 * (no offline queue) so the caller can count what was lost.
 */
import { EventEmitter } from 'node:events';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { BusDownError, type Bus, type BusEvent, type BusHandler } from './bus.js';
import { parseRedisUrl, redactRedisUrl, withoutSecret, type RedisTarget } from './redis-url.js';

export { parseRedisNodes } from './redis-url.js';

export interface RedisBusOptions {
  /**
   * redis://[user[:password]@]host:port, rediss:// for TLS; for a cluster, any
   * node (or several, comma-separated: see ./redis-url.ts).
   */
  url: string;
  cluster?: boolean;
  /** Name shown in CLIENT LIST. */
  name?: string;
  /** The password (replaces one in the URL): from SAMESONG_REDIS_PASSWORD, off the command line. */
  password?: string | undefined;
  /** CA certificate(s), PEM, that the server's TLS certificate is checked against (rediss://); absent: the system's. */
  ca?: string | Buffer | undefined;
}

/** How soon a failed resubscription after an outage is tried again. */
const RESUBSCRIBE_RETRY_MS = 250;
const RESUBSCRIBE_TIMEOUT_MS = 5000;
const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

function baseOptions(name: string | undefined, target: RedisTarget, ca: RedisBusOptions['ca']): RedisOptions {
  return {
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: ca ? { ca } : {} } : {}),
    ...(target.db !== 0 ? { db: target.db } : {}),
    // no CLIENT SETINFO at connect (Redis 7.2+): one command fewer for the ACL to allow
    disableClientInfo: true,
    enableOfflineQueue: false,
    // A command in flight when the connection drops fails rather than being sent again later:
    // the caller retries it knowing what happened meanwhile (a stored message's sender may have
    // moved; see ClusterNode.append).
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    retryStrategy,
    lazyConnect: true,
    ...(name ? { connectionName: name } : {}),
  };
}

/**
 * ioredis listens for one 'error' on a connection's socket (`once`); a TLS
 * socket whose handshake failed (a certificate not trusted) may emit a second,
 * which would be thrown as uncaught. Once a connection has reported an error,
 * its socket's further errors are ignored (the connection is closing anyway).
 */
function quietStream(client: Redis): void {
  const stream = (client as unknown as { stream?: EventEmitter }).stream;
  if (stream && !quieted.has(stream)) {
    quieted.add(stream);
    stream.on('error', () => {});
  }
}
const quieted = new WeakSet<EventEmitter>();

export class RedisBus implements Bus {
  readonly #handlers = new Map<string, BusHandler>();
  readonly #events = new EventEmitter();
  readonly #pub: Redis | Cluster;
  readonly #sub: Redis | Cluster;
  readonly #cluster: boolean;
  #up = false;
  #closed = false;
  #resubscribing = false;
  #recheck: NodeJS.Timeout | null = null;
  /** When a sharded-subscriber reset was first seen still in progress (0: none). */
  #resetSeenAt = 0;
  /** The last error a connection reported (why connect() failed: WRONGPASS, NOAUTH…). */
  #lastError: Error | null = null;

  private constructor(options: RedisBusOptions, target: RedisTarget) {
    this.#cluster = options.cluster ?? false;
    const opts = baseOptions(options.name, target, options.ca);
    if (this.#cluster) {
      // every node signs in as the first seed says (user, password, TLS): redisOptions
      const cluster = new Cluster(target.nodes, {
        shardedSubscribers: true,
        enableOfflineQueue: false,
        lazyConnect: true,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { ...opts, lazyConnect: undefined },
      });
      this.#pub = cluster;
      this.#sub = cluster;
      cluster.on('smessage', (channel: string, message: string) => this.#handlers.get(channel)?.(message));
      cluster.on('node error', (err: Error) => (this.#lastError = err));
      // Each master's connection is watched: one shard down is the bus down for its channels.
      cluster.on('+node', (node: Redis) => {
        node.on('error', () => quietStream(node));
        node.on('close', () => this.#setUp(false));
        node.on('ready', () => this.#checkUp());
      });
    } else {
      const { host, port } = target.nodes[0]!;
      this.#pub = new Redis({ ...opts, host, port });
      this.#sub = new Redis({ ...opts, host, port });
      this.#sub.on('message', (channel: string, message: string) => this.#handlers.get(channel)?.(message));
    }
    for (const client of new Set([this.#pub, this.#sub])) {
      client.on('error', (err: Error & { lastNodeError?: Error }) => {
        // reconnects by itself; state changes come through 'close' and 'ready'
        this.#lastError = err.lastNodeError ?? err;
        if (client instanceof Redis) quietStream(client);
      });
      client.on('close', () => this.#setUp(false));
      client.on('ready', () => this.#checkUp());
    }
  }

  /**
   * Connects (throws with a clear message when Redis cannot be reached or
   * refuses the credentials; the message never holds the password). A bad URL
   * throws RedisUrlError.
   */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const target = parseRedisUrl(options.url, {
      cluster: options.cluster ?? false,
      password: options.password,
    });
    const bus = new RedisBus(options, target);
    const fail = async (err: unknown) => {
      await bus.close();
      const { message } = err as Error;
      const last = bus.#lastError?.message;
      // "Connection is closed": what closed it (a refused password) says more
      const text = last && last !== message ? `${message} (${last})` : message;
      const why = withoutSecret(text, target.password);
      return new BusDownError(`cannot connect to Redis at ${redactRedisUrl(options.url)}: ${why}`);
    };
    try {
      await Promise.all([...new Set([bus.#pub, bus.#sub])].map((c) => c.connect()));
      if (bus.#cluster) await bus.#mastersReady();
    } catch (err) {
      throw await fail(err);
    }
    bus.#checkUp();
    return bus;
  }

  /** The command connection, for the session store and leader locks (same Redis). */
  get redis(): Redis | Cluster {
    return this.#pub;
  }

  get connected(): boolean {
    return this.#up;
  }

  async publish(channel: string, message: string): Promise<number> {
    if (!this.#up) throw new BusDownError();
    try {
      return this.#cluster
        ? ((await (this.#pub as Cluster).spublish(channel, message)) as number)
        : await this.#pub.publish(channel, message);
    } catch (err) {
      throw new BusDownError((err as Error).message);
    }
  }

  async subscribe(channel: string, handler: BusHandler): Promise<void> {
    this.#handlers.set(channel, handler);
    if (this.#cluster) await (this.#sub as Cluster).ssubscribe(channel);
    else await this.#sub.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.#handlers.delete(channel);
    if (this.#cluster) await (this.#sub as Cluster).sunsubscribe(channel);
    else await this.#sub.unsubscribe(channel);
  }

  on(event: BusEvent, listener: () => void): void {
    this.#events.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#up = false;
    if (this.#recheck) clearTimeout(this.#recheck);
    for (const c of new Set([this.#pub, this.#sub])) c.disconnect();
  }

  /** While down, looks again shortly: a check must not wait on an event that may never come. */
  #recheckSoon(): void {
    if (this.#recheck || this.#closed || this.#up) return;
    this.#recheck = setTimeout(() => {
      this.#recheck = null;
      this.#checkUp();
    }, RESUBSCRIBE_RETRY_MS);
    this.#recheck.unref();
  }

  #checkUp(): void {
    if (this.#closed || this.#up) return;
    const ready = [this.#pub, this.#sub].every((c) => c.status === 'ready');
    if (!ready) return this.#recheckSoon();
    if (!this.#cluster) {
      this.#setUp(true);
      return;
    }
    const masters = (this.#pub as Cluster).nodes('master');
    // Connections to masters are lazy: open them now (each one's 'ready' checks again); one that
    // gave up reconnecting ('end') is opened again too.
    for (const n of masters) if (n.status === 'wait' || n.status === 'end') n.connect().catch(() => {});
    if (masters.length === 0 || masters.some((n) => n.status !== 'ready')) return this.#recheckSoon();
    // A restarted shard lost its subscribers' state: subscribe again before saying 'up'.
    if (this.#resubscribing) return;
    this.#resubscribing = true;
    const channels = [...this.#handlers.keys()];
    // Bounded: a reply lost with a connection that drops again must not hold this forever.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('resubscribe timed out')), RESUBSCRIBE_TIMEOUT_MS);
    });
    Promise.race([Promise.all(channels.map((c) => (this.#sub as Cluster).ssubscribe(c))), gaveUp])
      .then(
        () => this.#setUp(true),
        (err: Error) => {
          // ioredis builds its sharded subscribers only when the cluster connects; one that
          // could not be built then (its node not yet known after a whole-cluster restart)
          // is never built again, and every ssubscribe for its slots fails. Rebuild them.
          if (err.message.startsWith('No sharded subscriber')) this.#rebuildShardedSubscribers();
          // A shard still down, or the restarted cluster not yet agreed on its state
          // (CLUSTERDOWN) while every connection is already ready: no further 'ready'
          // will come, so try again shortly.
          this.#recheckSoon();
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.#resubscribing = false;
      });
  }

  #rebuildShardedSubscribers(): void {
    const cluster = this.#sub as Cluster;
    const inner = cluster as unknown as {
      slots?: unknown;
      shardedSubscribers?: {
        subscriberToSlotsIndex?: Map<string, number[]>;
        isResetting?: boolean;
        pendingReset?: unknown;
        reset?(slots: unknown, nodes: Redis[]): Promise<void>;
      };
    };
    const group = inner.shardedSubscribers;
    if (!group) return;
    if (group.isResetting) {
      // A reset in progress gets its time. One whose new subscribers were stopped under it (the
      // cluster dropping again) waits for them for ever and holds every later reset back
      // (ioredis 5.11): past the resubscribe timeout it is taken for dead.
      const now = Date.now();
      this.#resetSeenAt ||= now;
      if (now - this.#resetSeenAt < RESUBSCRIBE_TIMEOUT_MS) return;
      group.isResetting = false;
      group.pendingReset = null;
    }
    this.#resetSeenAt = 0;
    // reset() skips when the slot map is unchanged and no subscriber it has is unhealthy, which
    // is exactly the case of one missing: emptying its slot index makes it rebuild.
    group.subscriberToSlotsIndex?.clear();
    group.reset?.(inner.slots, cluster.nodes('all'))?.catch(() => {});
  }

  /**
   * Waits until every master's command connection is ready (cluster mode): the
   * first publishes to a node still connecting would be retried, out of order.
   */
  async #mastersReady(timeoutMs = 10_000): Promise<void> {
    const cluster = this.#pub as Cluster;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const masters = cluster.nodes('master');
      for (const n of masters) if (n.status === 'wait') n.connect().catch(() => {});
      if (masters.length > 0 && masters.every((n) => n.status === 'ready')) return;
      if (Date.now() > deadline) throw new BusDownError('Redis Cluster masters not reachable');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  #setUp(up: boolean): void {
    if (this.#closed || up === this.#up) return;
    this.#up = up;
    // 'up' fires after ioredis has resubscribed (it does so before 'ready').
    this.#events.emit(up ? 'up' : 'down');
    // From the moment it is down, look again every RESUBSCRIBE_RETRY_MS: a 'ready' event may never come.
    if (!up) this.#recheckSoon();
  }
}
