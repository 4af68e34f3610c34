/**
 * The Bus: publish to a channel, subscribe to a channel. The only way the
 * processes of a scaled deployment talk to each other.
 *
 * Guarantees, for every implementation:
 * - at most once: a message is delivered to each current subscriber of its
 *   channel once or not at all (never duplicated, never replayed later);
 * - ordered per publisher and channel: messages one Bus instance publishes on
 *   one channel reach a subscriber in the order they were published;
 * - publish() resolves with how many subscribers received the message (0 tells
 *   the publisher nobody is listening), and rejects when the bus is down — it
 *   never queues a message for a later reconnect.
 */
export type BusHandler = (message: string) => void;

export type BusEvent = 'up' | 'down';

export interface Bus {
  /** Publishes one message. Resolves with the number of receivers; rejects while the bus is down. */
  publish(channel: string, message: string): Promise<number>;
  /** Subscribes a handler (one per channel per Bus). Subscriptions survive reconnects. */
  subscribe(channel: string, handler: BusHandler): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** 'down' when the connection is lost, 'up' when it is back and every subscription restored. */
  on(event: BusEvent, listener: () => void): void;
  readonly connected: boolean;
  close(): Promise<void>;
}

export class BusDownError extends Error {
  readonly code = 'bus_down';
  constructor(message = 'the bus is not connected') {
    super(message);
    this.name = 'BusDownError';
  }
}
