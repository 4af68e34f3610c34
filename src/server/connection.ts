/**
 * One client connection: framing faults, the rate limit, the misbehaviour
 * limit, the send-buffer cap and liveness. It knows nothing of sessions beyond
 * the reference the Hub gives it; everything it decides is reported to the Hub.
 */
import {
  CloseCode,
  Limits,
  parseClientFrame,
  type ClientMessage,
  type ErrorCode,
  type MessageId,
  type ServerMessage,
} from '../protocol/index.js';
import type { ServerMetrics } from './metrics.js';
import { TokenBucket, WindowCounter } from './rate-limiter.js';
import type { Session } from './session.js';
import type { Transport } from './transport.js';

/** What the loss of a connection means for its session. */
export type LossMode = 'end' | 'hold';

export interface ConnectionOwner {
  onMessage(conn: Connection, message: ClientMessage): void;
  onClose(conn: Connection, mode: LossMode): void;
}

export interface ConnectionLimits {
  rate: number;
  burst: number;
  sendBufferLimit: number;
}

export class Connection {
  session: Session | null = null;
  /** Client messages received so far (a resume must be the first). */
  received = 0;
  alive = true;
  /** Set when the server decided what the close means (misbehaviour, drain, takeover). */
  #lossMode: LossMode | 'none' | null = null;
  #bucket: TokenBucket;
  #errors: WindowCounter | null = null;
  #closed = false;

  constructor(
    readonly transport: Transport,
    private readonly owner: ConnectionOwner,
    private readonly limits: ConnectionLimits,
    private readonly metrics: ServerMetrics,
  ) {
    this.#bucket = new TokenBucket(limits.rate, limits.burst, Date.now());
    transport.listen({
      message: (data, isBinary) => this.#onFrame(data, isBinary),
      pong: () => {
        this.alive = true;
      },
      error: () => {
        this.#lossMode ??= 'end';
      },
      close: (code) => this.#onClose(code),
    });
  }

  get open(): boolean {
    return !this.#closed && this.transport.open;
  }

  send(message: ServerMessage): void {
    if (this.#closed || !this.transport.open) return;
    this.transport.send(JSON.stringify(message));
    if (this.transport.bufferedAmount > this.limits.sendBufferLimit) {
      this.metrics.slowReaders.inc();
      this.#lossMode ??= 'hold';
      this.transport.terminate();
    }
  }

  sendError(code: ErrorCode, message: string, id?: MessageId): void {
    this.send(id === undefined ? { type: 'error', code, message } : { type: 'error', code, message, id });
    this.metrics.errors.inc({ code });
    this.#errors ??= new WindowCounter(Limits.misbehaviourErrors, Limits.misbehaviourWindowMs);
    if (this.#errors.record(Date.now())) {
      this.close(CloseCode.policyViolation, 'too many errors');
    }
  }

  /** Closes with a code; misbehaviour codes end the session, 1012 holds it, 4001 leaves it alone. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#lossMode ??=
      code === CloseCode.serviceRestart ? 'hold' : code === CloseCode.takenOver ? 'none' : 'end';
    this.metrics.closes.inc({ code: String(code) });
    this.transport.close(code, reason);
  }

  /** Drops the connection without a close frame (silent peer). */
  terminate(): void {
    this.#lossMode ??= 'hold';
    this.transport.terminate();
  }

  /** Sends a liveness ping; a peer that did not answer the previous one is dropped. */
  heartbeat(): void {
    if (this.#closed) return;
    if (!this.alive) {
      this.terminate();
      return;
    }
    this.alive = false;
    this.transport.ping();
  }

  #onFrame(data: Buffer | string, isBinary: boolean): void {
    if (this.#closed) return;
    this.alive = true;
    this.metrics.messagesIn.inc();
    if (isBinary) {
      this.close(CloseCode.unsupportedData, 'binary frames are not accepted');
      return;
    }
    const parsed = parseClientFrame(typeof data === 'string' ? data : data.toString('utf8'));
    if (!this.#bucket.take(Date.now())) {
      this.sendError(
        'rate_limited',
        'too many messages; this one was dropped',
        parsed.ok ? idOf(parsed.message) : parsed.id,
      );
      return;
    }
    this.received++;
    if (!parsed.ok) {
      this.sendError(parsed.code, parsed.message, parsed.id);
      return;
    }
    this.owner.onMessage(this, parsed.message);
  }

  #onClose(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    let mode = this.#lossMode;
    if (mode === null) {
      mode =
        code === CloseCode.normal || code === CloseCode.goingAway || code === CloseCode.noStatus
          ? 'end'
          : 'hold';
    }
    if (mode !== 'none') this.owner.onClose(this, mode);
  }
}

function idOf(message: ClientMessage): MessageId | undefined {
  return 'id' in message ? message.id : undefined;
}
