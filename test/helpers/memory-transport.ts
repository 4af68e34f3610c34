/** A Transport in memory: what the server sends is recorded, what the client sends is fed in by hand. */
import type { Transport, TransportEvents } from '../../src/server/transport.js';

export class MemoryTransport implements Transport {
  readonly kind = 'websocket';
  open = true;
  bufferedAmount = 0;
  /** Frames the server sent, parsed. */
  readonly sent: Record<string, unknown>[] = [];
  closeCode: number | null = null;
  /** Answers every ping at once, as a client that reads everything would; else `pong()` answers. */
  autoPong = true;
  /** The marks of the pings sent (undefined for an unmarked one), in order. */
  readonly pings: (number | undefined)[] = [];
  #events: TransportEvents | null = null;

  listen(events: TransportEvents): void {
    this.#events = events;
  }
  send(text: string): void {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(code: number): void {
    if (!this.open) return;
    this.open = false;
    this.closeCode = code;
    this.#events?.onLost(code);
  }
  terminate(): void {
    this.close(1006);
  }
  ping(mark?: number): void {
    this.pings.push(mark);
    if (this.autoPong) this.#events?.onPong(mark);
  }
  /** The client answers a ping (carrying back its mark). */
  pong(mark?: number): void {
    this.#events?.onPong(mark);
  }

  /** The client sends one message. */
  frame(message: Record<string, unknown>): void {
    this.#events?.onFrame(JSON.stringify(message), false);
  }
  /** The network drops the connection (a loss: the session is held). */
  drop(): void {
    this.terminate();
  }
  /** Types of the frames the server sent, in order. */
  get types(): string[] {
    return this.sent.map((m) => m.type as string);
  }
  last(type: string): Record<string, unknown> | undefined {
    return this.sent.filter((m) => m.type === type).at(-1);
  }
}
