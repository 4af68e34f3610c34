/**
 * One client connection: framing faults, the rate limit, the misbehaviour
 * limit, the send-buffer cap, liveness, and how many of the chat messages
 * written to it the client has been seen to read (a slow reader is dropped). It knows nothing of sessions beyond
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
import type { AddressEntry } from './address-limits.js';
import type { ServerMetrics } from './metrics.js';
import { takeToken, WindowCounter, type BucketState } from './rate-limiter.js';
import type { Transport, TransportEvents } from './transport.js';

/** What the loss of a connection means for its session. */
export type LossMode = 'end' | 'hold';

/** Who a connection reports to; `S` is what the owner keeps on it (the Hub: its session). */
export interface ConnectionOwner<S extends object = object> {
  onMessage(conn: Connection<S>, message: ClientMessage): void;
  onClose(conn: Connection<S>, mode: LossMode): void;
  /**
   * `onMessage` (for a message of `type`) or `onClose` (`type` close) threw. The
   * Connection has counted it and, for a message, closes with 1011; the owner logs it.
   */
  onHandlerFault?(conn: Connection<S>, type: string, err: unknown): void;
}

export interface ConnectionLimits {
  rate: number;
  burst: number;
  sendBufferLimit: number;
}

/**
 * The Connection is its transport's listener and its own token bucket, so that
 * an idle connection holds no closures and no objects beside itself.
 */
let created = 0;

export class Connection<S extends object = object> implements TransportEvents, BucketState {
  /** Spreads the liveness pings: each tick of the ping timer pings one slot's connections. */
  readonly slot = created++ & 0x3fffffff;
  session: S | null = null;
  /** The counts of the client's address (its new-chat budget); null when the address is exempt. */
  address: AddressEntry | null = null;
  /** Client messages received so far (a resume must be the first). */
  received = 0;
  alive = true;
  /** While set, valid messages wait here (a resume is being looked up). */
  deferred: ClientMessage[] | null = null;
  /** Set when the server decided what the close means (misbehaviour, drain, takeover). */
  #lossMode: LossMode | 'none' | null = null;
  /** Rate-limit tokens left, and when they were last refilled (ms). */
  tokens: number;
  last: number;
  #errors: WindowCounter | null = null;
  /** The socket has closed. */
  #closed = false;
  /** The owner has been told of the loss (at most once). */
  #reported = false;
  /** Chat messages (`msg` frames) written to the connection. */
  #written = 0;
  /** Of those, how many the client has been seen to read: it answered a ping written after them. */
  #confirmed = 0;
  /** `#written` when the last probe was sent: it is unanswered while `#confirmed` is below it. */
  #probed = 0;

  constructor(
    readonly transport: Transport,
    private readonly owner: ConnectionOwner<S>,
    private readonly limits: ConnectionLimits,
    private readonly metrics: ServerMetrics,
  ) {
    this.tokens = limits.burst;
    this.last = Date.now();
    transport.listen(this);
  }

  get open(): boolean {
    return !this.#closed && this.transport.open;
  }

  send(message: ServerMessage): void {
    this.sendRaw(JSON.stringify(message));
  }

  /** Sends an already encoded server message. */
  sendRaw(text: string): void {
    if (this.#closed || !this.transport.open) return;
    this.transport.send(text);
    this.metrics.counts.messagesOut++;
    if (this.transport.bufferedAmount > this.limits.sendBufferLimit) this.#dropSlowReader();
  }

  /**
   * Sends a chat message (an encoded `msg`) and counts it; false when it could
   * not be written (the connection is closing or closed). A client that leaves
   * Limits.probeUnreadMessages of them unread is pinged at once (the ping
   * carries the count, and its pong brings it back); one that leaves
   * Limits.slowReaderMessages unread is dropped as a slow reader, its session
   * held for resume. `batch`: one of several written at once (a resume's
   * replay), not checked; the caller calls `probe()` after the last.
   */
  sendMsg(frame: string, batch = false): boolean {
    if (this.#closed || this.#lossMode !== null || !this.transport.open) return false;
    this.sendRaw(frame);
    this.#written++;
    if (!batch) this.#checkReader();
    return true;
  }

  /** Chat messages written to this connection that the client has not been seen to read. */
  get unread(): number {
    return this.#written - this.#confirmed;
  }

  /** Pings at once, carrying the count of chat messages written, when some are not known to be read. */
  probe(): void {
    if (this.#closed || this.#written === this.#confirmed) return;
    this.#probed = this.#written;
    this.transport.ping(this.#written);
  }

  /** Drops the connection as a slow reader (counted); its session is held for resume. */
  #dropSlowReader(): void {
    this.metrics.slowReaders.inc();
    this.#lossMode ??= 'hold';
    this.transport.terminate();
  }

  #checkReader(): void {
    const unread = this.#written - this.#confirmed;
    if (unread >= Limits.slowReaderMessages) {
      // what it has not read is still in its stream, for its resume: drop it before the stream
      // (Limits.historyMessages) no longer holds it all
      if (this.#lossMode === null) this.#dropSlowReader();
    } else if (unread >= Limits.probeUnreadMessages && this.#probed <= this.#confirmed) this.probe();
  }

  sendError(code: ErrorCode, message: string, id?: MessageId): void {
    this.send(id === undefined ? { type: 'error', code, message } : { type: 'error', code, message, id });
    this.metrics.errors.inc({ code });
    this.#errors ??= new WindowCounter(Limits.misbehaviourErrors, Limits.misbehaviourWindowMs);
    if (this.#errors.record(Date.now())) {
      this.close(CloseCode.policyViolation, 'too many errors');
    }
  }

  /**
   * Closes with a code; misbehaviour codes end the session at once (without
   * waiting for the closing handshake), 1011 and 1012 hold it, 4001 leaves it alone.
   */
  close(code: number, reason: string): void {
    if (this.#closed || this.#lossMode !== null) return;
    this.#lossMode =
      code === CloseCode.serviceRestart || code === CloseCode.internalError
        ? 'hold'
        : code === CloseCode.takenOver
          ? 'none'
          : 'end';
    this.metrics.closes.inc({ code: String(code) });
    this.transport.close(code, reason);
    if (this.#lossMode === 'end') this.#report();
  }

  /**
   * Hands a valid client message to the owner (as it arrives, or later when it
   * was deferred). A handler that throws costs this connection only: counted,
   * reported to the owner, closed with 1011 (the session is held for resume).
   */
  dispatch(message: ClientMessage): void {
    if (this.#closed || this.#lossMode !== null) return;
    try {
      this.owner.onMessage(this, message);
    } catch (err) {
      this.#fault(message.type, err);
      this.close(CloseCode.internalError, 'internal error');
    }
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
    // marked with the chat messages written so far, when some are not known to be read
    this.transport.ping(this.#written > this.#confirmed ? this.#written : undefined);
  }

  // ---- TransportEvents (called by the transport only) ----

  onPong(mark?: number): void {
    this.alive = true;
    // a pong answers a ping written after `mark` chat messages: the client read them all
    if (mark !== undefined && mark > this.#confirmed) this.#confirmed = Math.min(mark, this.#written);
  }

  onFault(code?: string): void {
    // The transport closes the connection itself with the matching code (1002, 1007, 1009)
    // and reads no further frames: the session ends at once, as for any misbehaviour.
    if (this.#lossMode !== null) return;
    this.#lossMode = 'end';
    this.metrics.closes.inc({ code: String(wsErrorCloseCode(code)) });
    this.#report();
  }

  onFrame(data: Buffer | string, isBinary: boolean): void {
    // ws still emits frames that arrive after the server sent its close frame: ignore them.
    if (this.#closed || this.#lossMode !== null || !this.transport.open) return;
    this.alive = true;
    this.metrics.counts.messagesIn++;
    if (isBinary) {
      this.close(CloseCode.unsupportedData, 'binary frames are not accepted');
      return;
    }
    const parsed = parseClientFrame(typeof data === 'string' ? data : data.toString('utf8'));
    if (!takeToken(this, this.limits.rate, this.limits.burst, Date.now())) {
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
    if (this.deferred) this.deferred.push(parsed.message);
    else this.dispatch(parsed.message);
  }

  onLost(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lossMode ??=
      code === CloseCode.normal || code === CloseCode.goingAway || code === CloseCode.noStatus
        ? 'end'
        : 'hold';
    this.#report();
  }

  #report(): void {
    const mode = this.#lossMode;
    if (this.#reported || mode === null) return;
    this.#reported = true;
    if (mode === 'none') return;
    // Called from the transport's events: a throw must not reach its emitter (and the process).
    try {
      this.owner.onClose(this, mode);
    } catch (err) {
      this.#fault('close', err);
    }
  }

  #fault(type: string, err: unknown): void {
    this.metrics.clientFault(type);
    try {
      this.owner.onHandlerFault?.(this, type, err);
    } catch {
      // Reporting the fault failed too: it is counted, which is all that is left to do.
    }
  }
}

/** The close code ws sends for a receiver error (see ws/lib/receiver.js). */
function wsErrorCloseCode(code: string | undefined): number {
  switch (code) {
    case 'WS_ERR_INVALID_UTF8':
      return CloseCode.invalidPayload;
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return CloseCode.messageTooBig;
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return CloseCode.policyViolation;
    default:
      return CloseCode.protocolError;
  }
}

function idOf(message: ClientMessage): MessageId | undefined {
  return 'id' in message ? message.id : undefined;
}
