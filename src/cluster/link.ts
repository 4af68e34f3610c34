/**
 * An app server's link to the rest of a scaled deployment: sends ops to other
 * app servers and to matchmaker shards (coalesced, see bus/batcher.ts), receives ops for
 * its own sessions, publishes heartbeats and notices dead app servers.
 */
import type { Logger } from 'pino';
import { decodeBatch, Batcher, type BatchResult } from '../bus/batcher.js';
import type { Bus } from '../bus/bus.js';
import {
  Channels,
  opName,
  shardOf,
  type AppOp,
  type HeartbeatOp,
  type Op,
  type SeekerWire,
  type ShardOp,
} from './ops.js';
import { Liveness } from './liveness.js';

export interface LinkHandlers {
  onOp(op: AppOp): void;
  /** An app server stopped beating (or nobody received what was sent to it). */
  onServerDown(server: string): void;
  /** An app server declared dead beats again: it was not dead, only out of sight. */
  onServerBack(server: string): void;
  /** Ops bound for another app server that nobody received (it is gone). */
  onUndelivered(server: string, ops: AppOp[]): void;
  /** The bus came back after an outage: re-send what may have been lost (seekers). */
  onBusUp(): void;
}

export interface LinkOptions {
  serverId: string;
  shards: number;
  heartbeatMs: number;
  deadAfterMs: number;
  coalesce: boolean;
  /** Coalescing window in ms (0: one event-loop turn). */
  coalesceMs?: number;
  logger: Logger;
}

export class ClusterLink {
  readonly #batcher: Batcher<Op>;
  readonly #liveness: Liveness;
  /** Ops lost because the bus was down, by op name. */
  readonly lost = new Map<string, number>();
  /** Ops received whose handler threw (each was dropped), by op name. */
  readonly faults = new Map<string, number>();

  constructor(
    readonly bus: Bus,
    private readonly options: LinkOptions,
    private readonly handlers: LinkHandlers,
  ) {
    this.#batcher = new Batcher<Op>(
      bus,
      (r) => this.#afterPublish(r),
      options.coalesce,
      options.coalesceMs ?? 0,
    );
    this.#liveness = new Liveness(bus, {
      id: options.serverId,
      kind: 'app',
      heartbeatMs: options.heartbeatMs,
      deadAfterMs: options.deadAfterMs,
      onDead: (id, kind) => {
        if (kind === 'app') this.#guard('server_down', () => handlers.onServerDown(id));
      },
      onAlive: (id, kind, again) => {
        if (kind === 'app' && again) this.#guard('server_back', () => handlers.onServerBack(id));
      },
    });
  }

  get serverId(): string {
    return this.options.serverId;
  }

  get publishes(): number {
    return this.#batcher.publishes;
  }

  async start(): Promise<void> {
    const onAppBatch = (message: string) => {
      for (const op of decodeBatch<AppOp>(message)) this.#receive(op);
    };
    await this.bus.subscribe(Channels.app(this.options.serverId), onAppBatch);
    await this.bus.subscribe(Channels.apps, onAppBatch);
    this.bus.on('up', () => this.#guard('bus_up', () => this.handlers.onBusUp()));
    await this.#liveness.start();
  }

  /** Sends an op to the app server holding a session. */
  toServer(server: string, op: AppOp): void {
    this.#batcher.send(Channels.app(server), op);
  }

  seek(seeker: SeekerWire): void {
    this.#batcher.send(Channels.shard(shardOf(seeker.track, this.options.shards)), {
      op: 'seek',
      seeker,
    } satisfies ShardOp);
  }

  cancel(session: string, track: string): void {
    this.#batcher.send(Channels.shard(shardOf(track, this.options.shards)), {
      op: 'cancel',
      session,
    } satisfies ShardOp);
  }

  /** Watches the liveness of an app server that holds a partner. */
  watch(server: string): void {
    this.#liveness.watch(server, 'app');
  }

  isAlive(server: string): boolean {
    return this.#liveness.isAlive(server);
  }

  async close(): Promise<void> {
    this.#batcher.flush();
    this.#liveness.close();
  }

  /** Hands one received op on; one whose handler throws is dropped, counted and logged, and the batch goes on. */
  #receive(op: AppOp): void {
    this.#guard(opName(op), () => this.handlers.onOp(op));
  }

  /** Runs a handler of something the bus reported; a throw is counted (by `name`) and logged, never passed on. */
  #guard(name: string, handle: () => void): void {
    try {
      handle();
    } catch (err) {
      this.faults.set(name, (this.faults.get(name) ?? 0) + 1);
      this.options.logger.error({ err, op: name }, 'handling a bus op or event failed; dropped');
    }
  }

  #afterPublish(result: BatchResult<Op>): void {
    if (result.receivers === null) {
      for (const op of result.items) this.lost.set(op.op, (this.lost.get(op.op) ?? 0) + 1);
      this.options.logger.warn({ channel: result.channel, ops: result.items.length }, 'bus down: ops lost');
      return;
    }
    const prefix = Channels.app('');
    if (result.receivers === 0 && result.channel.startsWith(prefix)) {
      const server = result.channel.slice(prefix.length);
      this.#guard('undelivered', () => this.handlers.onUndelivered(server, result.items as AppOp[]));
    }
  }
}

export type { HeartbeatOp };
