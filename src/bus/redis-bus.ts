/**
 * The Redis Bus: standalone Redis (PUBLISH/SUBSCRIBE) or Redis Cluster with
 * sharded pub/sub (SPUBLISH/SSUBSCRIBE), so each channel lives on one shard.
 * Reconnects and resubscribes by itself; while down, publish() rejects at once
 * (no offline queue) so the caller can count what was lost.
 */
import { EventEmitter } from 'node:events';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { BusDownError, type Bus, type BusEvent, type BusHandler } from './bus.js';

export interface RedisBusOptions {
  /** redis://host:port; for a cluster, any node (or several, comma-separated). */
  url: string;
  cluster?: boolean;
  /** Name shown in CLIENT LIST. */
  name?: string;
}

/** How soon a failed resubscription after an outage is tried again. */
const RESUBSCRIBE_RETRY_MS = 250;
const RESUBSCRIBE_TIMEOUT_MS = 5000;
const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);

function baseOptions(name: string | undefined): RedisOptions {
  return {
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

export function parseRedisNodes(url: string): { host: string; port: number }[] {
  return url.split(',').map((part) => {
    const u = new URL(part.includes('://') ? part.trim() : `redis://${part.trim()}`);
    return { host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) };
  });
}

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

  private constructor(options: RedisBusOptions) {
    this.#cluster = options.cluster ?? false;
    const opts = baseOptions(options.name);
    if (this.#cluster) {
      const nodes = parseRedisNodes(options.url);
      const cluster = new Cluster(nodes, {
        shardedSubscribers: true,
        enableOfflineQueue: false,
        lazyConnect: true,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { ...opts, lazyConnect: undefined },
      });
      this.#pub = cluster;
      this.#sub = cluster;
      cluster.on('smessage', (channel: string, message: string) => this.#handlers.get(channel)?.(message));
      // Each master's connection is watched: one shard down is the bus down for its channels.
      cluster.on('+node', (node: Redis) => {
        node.on('close', () => this.#setUp(false));
        node.on('ready', () => this.#checkUp());
      });
    } else {
      this.#pub = new Redis(options.url, opts);
      this.#sub = new Redis(options.url, opts);
      this.#sub.on('message', (channel: string, message: string) => this.#handlers.get(channel)?.(message));
    }
    for (const client of new Set([this.#pub, this.#sub])) {
      client.on('error', () => {
        /* reconnects by itself; state changes come through 'close' and 'ready' */
      });
      client.on('close', () => this.#setUp(false));
      client.on('ready', () => this.#checkUp());
    }
  }

  /** Connects (throws with a clear message when Redis cannot be reached). */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options);
    try {
      await Promise.all([...new Set([bus.#pub, bus.#sub])].map((c) => c.connect()));
    } catch (err) {
      await bus.close();
      throw new BusDownError(`cannot connect to Redis at ${options.url}: ${(err as Error).message}`);
    }
    if (bus.#cluster) await bus.#mastersReady();
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
