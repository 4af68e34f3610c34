/**
 * A typed Node client for the samesong protocol over `ws`: connect (resolves on
 * `welcome`), send, await the next message of a type, resume. Used by tests and
 * by tools; the load generator uses the same protocol types.
 */
import { WebSocket, type ClientOptions as WsOptions } from 'ws';
import type {
  ClientMessage,
  ResumedMessage,
  ServerMessage,
  ServerMessageOf,
  ServerMessageType,
  WelcomeMessage,
} from '../protocol/index.js';

export interface ClientOptions {
  /** How long connect() and next() wait by default (ms). */
  timeoutMs?: number;
  /** Source address for the TCP connection (e.g. 127.0.0.2). */
  localAddress?: string;
  /** Send `resume` with this token as the first message after `welcome`. */
  resumeToken?: string;
  ws?: WsOptions;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

interface Waiter {
  type: ServerMessageType | undefined;
  resolve(m: ServerMessage): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class ClientError extends Error {
  constructor(
    message: string,
    readonly code: 'timeout' | 'closed' | 'connect_failed',
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

export class SamesongClient {
  /** Every message received, in order (never consumed). */
  readonly history: ServerMessage[] = [];
  /** The close code and reason, once closed. */
  readonly closed: Promise<CloseInfo>;
  #inbox: ServerMessage[] = [];
  #waiters: Waiter[] = [];
  #closeInfo: CloseInfo | null = null;
  #welcome: WelcomeMessage | null = null;
  #chat: string | null = null;
  #resumeLast: number | undefined;
  /** The highest `seq` received in the current chat (PROTOCOL 1.1): sent as `last` on resume. */
  lastSeq = 0;
  /** `msg`s dropped because their `seq` was not above `lastSeq` (a replay may repeat one). */
  duplicates = 0;
  /** Messages missing by `seq` (a `seq` more than one above the last): must stay 0. */
  gaps = 0;

  private constructor(
    readonly ws: WebSocket,
    readonly timeoutMs: number,
  ) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.#closeInfo = { code, reason: reason.toString() };
        for (const w of this.#waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(
            new ClientError(
              `connection closed (${code}) while waiting for ${w.type ?? 'a message'}`,
              'closed',
            ),
          );
        }
        resolve(this.#closeInfo);
      });
    });
    ws.on('error', () => {
      /* reported through 'close' */
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let m: ServerMessage;
      try {
        m = JSON.parse(data.toString()) as ServerMessage;
      } catch {
        return;
      }
      if (!this.#track(m)) return;
      this.history.push(m);
      const i = this.#waiters.findIndex((w) => w.type === undefined || w.type === m.type);
      if (i >= 0) {
        const [w] = this.#waiters.splice(i, 1);
        clearTimeout(w!.timer);
        w!.resolve(m);
      } else {
        this.#inbox.push(m);
      }
    });
  }

  /** Opens a connection to a ws:// URL (the /ws path is added when missing) and waits for `welcome`. */
  static async connect(url: string, options: ClientOptions = {}): Promise<SamesongClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const ws = new WebSocket(toWsUrl(url), {
      ...options.ws,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      perMessageDeflate: false,
    });
    const client = new SamesongClient(ws, timeoutMs);
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) =>
        reject(new ClientError(`cannot connect to ${url}: ${err.message}`, 'connect_failed'));
      ws.once('open', () => {
        ws.off('error', fail);
        resolve();
      });
      ws.once('error', fail);
    });
    client.#welcome = await client.next('welcome');
    if (options.resumeToken !== undefined) client.send({ type: 'resume', token: options.resumeToken });
    return client;
  }

  get welcome(): WelcomeMessage {
    return this.#welcome!;
  }

  /** The close code, once the connection closed. */
  get closeInfo(): CloseInfo | null {
    return this.#closeInfo;
  }

  /** Messages received and not yet taken by next(). */
  get pending(): readonly ServerMessage[] {
    return this.#inbox;
  }

  /** Sends a protocol message, or any value / raw text (for testing the server's defences). */
  send(message: ClientMessage | Record<string, unknown> | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Takes the next message of `type` (any type when omitted), waiting up to `timeoutMs`. */
  next<T extends ServerMessageType>(type?: T, timeoutMs = this.timeoutMs): Promise<ServerMessageOf<T>> {
    const i = this.#inbox.findIndex((m) => type === undefined || m.type === type);
    if (i >= 0) return Promise.resolve(this.#inbox.splice(i, 1)[0] as ServerMessageOf<T>);
    if (this.#closeInfo) {
      return Promise.reject(
        new ClientError(`connection closed (${this.#closeInfo.code}); no ${type ?? 'message'}`, 'closed'),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        type,
        resolve: resolve as (m: ServerMessage) => void,
        reject,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          const seen =
            this.#inbox
              .map((m) => (m.type === 'error' ? `error ${m.code}: ${m.message}` : m.type))
              .join(', ') || 'nothing';
          reject(
            new ClientError(`no ${type ?? 'message'} within ${timeoutMs} ms (pending: ${seen})`, 'timeout'),
          );
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  async search(track: string, name?: string): Promise<ServerMessageOf<'searching'>> {
    this.send(name === undefined ? { type: 'search', track } : { type: 'search', track, name });
    return this.next('searching');
  }

  say(text: string, id?: string | number): void {
    this.send(id === undefined ? { type: 'say', text } : { type: 'say', text, id });
  }

  /** Sends `resume` (with `last` when given) and waits for `resumed`. */
  async resume(token: string, last?: number): Promise<ResumedMessage> {
    this.#resumeLast = last;
    this.send(last === undefined ? { type: 'resume', token } : { type: 'resume', token, last });
    return this.next('resumed');
  }

  /** Keeps the chat's `seq` (1.1); false for a `msg` to drop as a duplicate. */
  #track(m: ServerMessage): boolean {
    if (m.type === 'matched') {
      this.#chat = m.chat;
      this.lastSeq = 0;
    } else if (m.type === 'resumed') {
      if (m.chat !== undefined && m.chat !== this.#chat) {
        this.#chat = m.chat;
        this.lastSeq = this.#resumeLast ?? 0;
      }
    } else if (m.type === 'msg' && typeof m.seq === 'number') {
      if (m.chat !== this.#chat) {
        this.#chat = m.chat;
        this.lastSeq = 0;
      }
      if (m.seq <= this.lastSeq) {
        this.duplicates++;
        return false;
      }
      this.gaps += m.seq - this.lastSeq - 1;
      this.lastSeq = m.seq;
    }
    return true;
  }

  /** Closes with a close frame (default 1000) and waits until closed. */
  async close(code = 1000, reason = ''): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(code, reason);
    return this.closed;
  }

  /** Drops the TCP connection without a close frame (a lost network). */
  async drop(): Promise<CloseInfo> {
    this.ws.terminate();
    return this.closed;
  }
}

export function toWsUrl(url: string): string {
  const u = new URL(url.replace(/^http/, 'ws'));
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/ws';
  return u.toString();
}
