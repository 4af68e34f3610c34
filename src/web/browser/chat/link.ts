/**
 * The page's connection to the service: WebSocket at /ws, SockJS at /sockjs
 * when WebSocket cannot connect, reconnection with capped exponential backoff
 * and jitter (or the delay a `bye` asks for), and resume with the session's
 * token, kept in sessionStorage so that a reload within the grace period
 * resumes too. A resume names the highest message `seq` received in the
 * current chat (`last`), so the server sends what came after it.
 */
import type { ClientMessage, ResumedMessage, ServerMessage } from '../../../protocol/index.js';
import { backoffDelay, byeDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { resumeMessage } from './seq.js';

export type TransportKind = 'websocket' | 'sockjs';

/** What the page learns when a session is usable. */
export interface Ready {
  transport: TransportKind;
  /** Set when this connection took back an earlier session. */
  resumed: ResumedMessage | null;
  /** True when a token was offered but the session was gone (a new one started). */
  lost: boolean;
}

export type LinkStatus =
  | { state: 'connecting' }
  | { state: 'online'; transport: TransportKind }
  | { state: 'waiting'; inMs: number; why: 'lost' | 'restarting' }
  | { state: 'taken_over' };

export interface LinkEvents {
  ready(info: Ready): void;
  message(message: ServerMessage): void;
  status(status: LinkStatus): void;
}

export interface LinkOptions {
  /** Where the page came from (http(s)://host). */
  origin: string;
  storage: Storage;
  /** A WebSocket that has not said `welcome` within this long counts as failed. */
  welcomeTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** The `last` to send with a resume: the highest `seq` received in the current chat, if any. */
  resumeLast?: () => number | undefined;
}

/** The part of WebSocket that SockJS also offers. */
interface RawSocket {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((e: Event) => void) | null;
  onmessage: ((e: MessageEvent) => void) | null;
  onclose: ((e: CloseEvent) => void) | null;
}

const TOKEN_KEY = 'samesong:resume';
/** Sent when the page goes away: the server holds the session, so a reload can take it back. */
export const PAGE_HIDDEN_CLOSE = 4000;
const TAKEN_OVER = 4001;

export class ChatLink {
  #socket: RawSocket | null = null;
  #attempt = 0;
  #websocketBroken = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  #ready = false;
  readonly #welcomeTimeoutMs: number;
  readonly #backoff: BackoffOptions;

  constructor(
    private readonly options: LinkOptions,
    private readonly events: LinkEvents,
  ) {
    this.#welcomeTimeoutMs = options.welcomeTimeoutMs ?? 5000;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  get ready(): boolean {
    return this.#ready;
  }

  start(): void {
    this.#stopped = false;
    if (!this.#socket && !this.#timer) void this.#connect();
  }

  /** Sends when a session is usable; false otherwise. */
  send(message: ClientMessage): boolean {
    if (!this.#ready || !this.#socket) return false;
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  /** Closes for good (the page is going away); the server holds the session for a reload. */
  stop(code = PAGE_HIDDEN_CLOSE, reason = 'page hidden'): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const socket = this.#socket;
    this.#socket = null;
    this.#ready = false;
    socket?.close(code, reason);
  }

  async #connect(): Promise<void> {
    this.#timer = null;
    const kind: TransportKind = this.#websocketBroken ? 'sockjs' : 'websocket';
    this.events.status({ state: 'connecting' });
    let socket: RawSocket;
    try {
      socket = kind === 'websocket' ? this.#openWebSocket() : await this.#openSockJs();
    } catch {
      this.#failed(kind, false);
      return;
    }
    if (this.#stopped) {
      socket.close(PAGE_HIDDEN_CLOSE, 'page hidden');
      return;
    }
    this.#socket = socket;
    let welcomed = false;
    let bye: number | null = null;
    let welcomeToken = '';
    const offered = this.options.storage.getItem(TOKEN_KEY);
    const guard = setTimeout(() => {
      if (!welcomed) socket.close();
    }, this.#welcomeTimeoutMs);

    socket.onmessage = (e: MessageEvent) => {
      const m = parse(e.data);
      if (!m || this.#socket !== socket) return;
      if (!welcomed) {
        if (m.type !== 'welcome') return;
        welcomed = true;
        clearTimeout(guard);
        welcomeToken = m.resume;
        if (offered) socket.send(JSON.stringify(resumeMessage(offered, this.options.resumeLast?.())));
        else this.#becomeReady(kind, null, false, welcomeToken);
        return;
      }
      if (!this.#ready) {
        if (m.type === 'resumed') return this.#becomeReady(kind, m, false, m.resume);
        if (m.type === 'error' && m.code === 'resume_failed')
          return this.#becomeReady(kind, null, true, welcomeToken);
      }
      if (m.type === 'bye') bye = m.retryAfterMs;
      this.events.message(m);
    };
    socket.onclose = (e: CloseEvent) => {
      clearTimeout(guard);
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#ready = false;
      if (this.#stopped) return;
      if (e.code === TAKEN_OVER) {
        this.#stopped = true;
        this.events.status({ state: 'taken_over' });
        return;
      }
      if (bye !== null) {
        this.#attempt = 0;
        this.#schedule(byeDelay(bye), 'restarting');
        return;
      }
      this.#failed(kind, welcomed);
    };
  }

  #becomeReady(kind: TransportKind, resumed: ResumedMessage | null, lost: boolean, token: string): void {
    this.options.storage.setItem(TOKEN_KEY, token);
    this.#attempt = 0;
    this.#ready = true;
    this.events.status({ state: 'online', transport: kind });
    this.events.ready({ transport: kind, resumed, lost });
  }

  /** A connection that ended or never worked: fall back to SockJS at once, else back off. */
  #failed(kind: TransportKind, welcomed: boolean): void {
    if (kind === 'websocket' && !welcomed) {
      this.#websocketBroken = true;
      void this.#connect();
      return;
    }
    // Both transports failed: the server itself is away, so try WebSocket first again next time.
    if (kind === 'sockjs' && !welcomed) this.#websocketBroken = false;
    this.#schedule(backoffDelay(this.#attempt++, this.#backoff), 'lost');
  }

  #schedule(delayMs: number, why: 'lost' | 'restarting'): void {
    this.events.status({ state: 'waiting', inMs: delayMs, why });
    this.#timer = setTimeout(() => void this.#connect(), delayMs);
  }

  #openWebSocket(): RawSocket {
    const url = new URL('/ws', this.options.origin);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new WebSocket(url) as RawSocket;
  }

  async #openSockJs(): Promise<RawSocket> {
    const { default: SockJS } = await import('sockjs-client');
    return new SockJS(new URL('/sockjs', this.options.origin).href) as unknown as RawSocket;
  }
}

function parse(data: unknown): ServerMessage | null {
  if (typeof data !== 'string') return null;
  try {
    const value: unknown = JSON.parse(data);
    return value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string'
      ? (value as ServerMessage)
      : null;
  } catch {
    return null;
  }
}
