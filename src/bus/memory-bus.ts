/**
 * The in-memory Bus: every MemoryBus made from one MemoryBusNetwork sees the
 * others' messages, as separate processes would through Redis. Delivery is
 * asynchronous (next microtask batch) so callers see the same timing shape.
 */
import { EventEmitter } from 'node:events';
import { BusDownError, type Bus, type BusEvent, type BusHandler } from './bus.js';

export class MemoryBusNetwork {
  readonly #channels = new Map<string, Set<MemoryBus>>();

  /** A new participant on this network. */
  connect(): MemoryBus {
    return new MemoryBus(this);
  }

  /** @internal */
  join(channel: string, bus: MemoryBus): void {
    let set = this.#channels.get(channel);
    if (!set) this.#channels.set(channel, (set = new Set()));
    set.add(bus);
  }

  /** @internal */
  leave(channel: string, bus: MemoryBus): void {
    const set = this.#channels.get(channel);
    if (!set) return;
    set.delete(bus);
    if (set.size === 0) this.#channels.delete(channel);
  }

  /** @internal */
  deliver(channel: string, message: string): number {
    const set = this.#channels.get(channel);
    if (!set) return 0;
    for (const bus of set) bus.receive(channel, message);
    return set.size;
  }
}

export class MemoryBus implements Bus {
  readonly #handlers = new Map<string, BusHandler>();
  readonly #events = new EventEmitter();
  #closed = false;

  constructor(private readonly network: MemoryBusNetwork = new MemoryBusNetwork()) {}

  get connected(): boolean {
    return !this.#closed;
  }

  publish(channel: string, message: string): Promise<number> {
    if (this.#closed) return Promise.reject(new BusDownError('the bus is closed'));
    return Promise.resolve(this.network.deliver(channel, message));
  }

  subscribe(channel: string, handler: BusHandler): Promise<void> {
    if (this.#closed) return Promise.reject(new BusDownError('the bus is closed'));
    this.#handlers.set(channel, handler);
    this.network.join(channel, this);
    return Promise.resolve();
  }

  unsubscribe(channel: string): Promise<void> {
    this.#handlers.delete(channel);
    this.network.leave(channel, this);
    return Promise.resolve();
  }

  on(event: BusEvent, listener: () => void): void {
    this.#events.on(event, listener);
  }

  /** @internal */
  receive(channel: string, message: string): void {
    queueMicrotask(() => this.#handlers.get(channel)?.(message));
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const channel of this.#handlers.keys()) this.network.leave(channel, this);
      this.#handlers.clear();
    }
    return Promise.resolve();
  }
}
