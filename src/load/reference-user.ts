/**
 * The built-in reference user of DESIGN.md: connects, searches 1 + geometric
 * times, chats (geometric messages after exponential think times, log-normal
 * lengths), leaves, and ends its session cleanly — or, as a bad client, by
 * dropping the socket. Each user is one small object; its socket's handlers
 * are shared functions and its waits live in the shared timer heap.
 *
 * Every message carries `~SEQ.MICROS~` (base 36): its sequence in the chat and
 * its intended send time, so the receiving user (also ours) measures true
 * end-to-end latency and detects loss and reordering.
 *
 * The server's own numbering (protocol 1.1: `seq` on every `msg`, 1, 2, 3… per
 * chat and receiving member) is checked too: a gap counts the missing ones as
 * msgs_lost, a `seq` not above the last is a repeat, counted in msgs_duplicate
 * and dropped. A `msg` without `seq` (an older server) is not checked.
 */
import { sample } from './distributions.js';
import { connectFailureReason } from './metrics.js';
import type { ReferenceUserSpec } from './plan.js';
import type { TimerOwner } from './timer-heap.js';
import { wallNow, type UserHost, type UserSocket, type VirtualUser } from './user-host.js';

const enum S {
  Connecting,
  Idle,
  Searching,
  Chatting,
  LeavingChat,
  Ending,
  Closing,
  Done,
}

const FILLER = 'la '.repeat(340);
const SEARCH_GRACE_MS = 5000;

interface Inbound {
  type: string;
  chat?: string;
  text?: string;
  id?: unknown;
  code?: string;
  /** Protocol 1.1; not yet in the shared protocol types. */
  seq?: unknown;
}

type Sock = UserSocket & { owner: ReferenceUser | null };

function onOpen(this: UserSocket): void {
  (this as Sock).owner?.opened();
}
function onMessage(this: UserSocket, data: Buffer): void {
  (this as Sock).owner?.message(data);
}
function onClose(this: UserSocket, code: number): void {
  (this as Sock).owner?.closed(code);
}
function onError(this: UserSocket, err: Error): void {
  // 'close' follows every 'error'; it does the counting, with the reason kept here
  (this as Sock).owner?.socketError(err);
}

export class ReferenceUser implements VirtualUser, TimerOwner {
  timerToken = 0;
  private ws: Sock | null = null;
  private state = S.Connecting;
  private bad: boolean;
  private arrivedAt = 0;
  private failure: Error | null = null;
  private sessionEnd = 0;
  private searchesLeft = 0;
  private msgsLeft = 0;
  private searchAt = 0;
  private searchHot = false;
  private nextId = 1;
  private txSeq = 0;
  private rxSeq = 0;
  /** The highest protocol `seq` received in the current chat (0: none yet). */
  private lastSeq = 0;
  private chat = '';
  private isOpen = false;
  private inChat = false;
  /** Intended send times of says not yet answered, oldest first. */
  private pending: number[] | null = null;
  /** How many of the oldest pending says were sent in a chat that has since ended. */
  private staleSays = 0;

  constructor(
    private readonly host: UserHost,
    private readonly spec: ReferenceUserSpec,
  ) {
    this.bad = host.rng.next() < spec.badShare;
  }

  start(intendedAt: number): void {
    const h = this.host;
    this.arrivedAt = intendedAt;
    this.sessionEnd = intendedAt + sample(this.spec.session, h.rng);
    this.searchesLeft = Math.max(0, sample(this.spec.searches, h.rng));
    const ws = h.open() as Sock;
    ws.owner = this;
    ws.on('open', onOpen);
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
    this.ws = ws;
  }

  opened(): void {
    this.host.rec.latency('connect_time', wallNow() - this.arrivedAt);
    this.host.rec.inc('connects');
    this.isOpen = true;
    this.host.userConnected();
  }

  message(data: Buffer): void {
    let m: Inbound;
    try {
      m = JSON.parse(data.toString()) as Inbound;
    } catch {
      this.host.rec.error('client_bad_json');
      return;
    }
    const rec = this.host.rec;
    switch (m.type) {
      case 'welcome':
        rec.latency('time_to_welcome', wallNow() - this.arrivedAt);
        this.state = S.Idle;
        this.next();
        break;
      case 'matched':
        // Counted even when this user has just given up (leave crossed the match on the wire).
        rec.inc('users_matched');
        if (this.state !== S.Searching) break;
        {
          const waited = wallNow() - this.searchAt;
          rec.latency('time_to_match', waited);
          rec.latency(this.searchHot ? 'time_to_match_hot' : 'time_to_match_cold', waited);
        }
        this.state = S.Chatting;
        this.setInChat(true);
        this.chat = m.chat ?? '';
        this.txSeq = 0;
        this.rxSeq = 0;
        this.lastSeq = 0;
        this.msgsLeft = Math.max(0, sample(this.spec.messages, this.host.rng));
        this.think();
        break;
      case 'no_match':
        rec.inc('no_match');
        if (this.state === S.Searching) this.search(false);
        break;
      case 'msg':
        if (!this.repeated(m)) this.received(m);
        break;
      case 'ack':
        rec.inc('messages_acked');
        rec.latency('ack_latency', wallNow() - (this.pending?.shift() ?? wallNow()));
        if (this.staleSays > 0) this.staleSays--;
        break;
      case 'error':
        this.failed(m);
        break;
      case 'partner_left':
        this.staleSays = this.pending?.length ?? 0;
        if (this.state === S.Chatting) this.chatOver();
        break;
      case 'left':
        if (this.state === S.LeavingChat) this.chatOver();
        else if (this.state === S.Ending) this.close();
        break;
      case 'partner_away':
        rec.inc('partner_away');
        break;
    }
  }

  /**
   * An error is a fault unless it is `not_in_chat` answering a say that crossed
   * the end of its chat on the wire (sent before partner_left arrived): the
   * user model's race, counted apart in errors_raced.
   */
  private failed(m: Inbound): void {
    const rec = this.host.rec;
    const answersSay = m.id !== undefined && this.pending !== null && this.pending.length > 0;
    const stale = answersSay && this.staleSays > 0;
    if (stale) this.staleSays--;
    if (stale && m.code === 'not_in_chat') rec.inc('errors_raced');
    else rec.error(m.code ?? 'unknown');
    if (answersSay) {
      this.pending!.shift();
      rec.inc('messages_rejected');
    }
  }

  /**
   * Checks the protocol `seq` of a msg of the current chat against the last
   * one: counts a gap as lost messages; true for a repeat, to be dropped.
   */
  private repeated(m: Inbound): boolean {
    const seq = m.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return false;
    if (this.chat === '' || m.chat !== this.chat) return false;
    if (seq <= this.lastSeq) {
      this.host.rec.inc('msgs_duplicate');
      return true;
    }
    if (seq > this.lastSeq + 1) this.host.rec.inc('msgs_lost', seq - this.lastSeq - 1);
    this.lastSeq = seq;
    return false;
  }

  private received(m: Inbound): void {
    const text = m.text ?? '';
    const end = text.indexOf('~', 1);
    if (text.charCodeAt(0) !== 126 || end < 0) return;
    const dot = text.indexOf('.');
    const seq = parseInt(text.slice(1, dot), 36);
    const sentAt = parseInt(text.slice(dot + 1, end), 36) / 1000;
    const rec = this.host.rec;
    rec.inc('messages_delivered');
    rec.latency('message_latency', wallNow() - sentAt);
    if (m.chat !== this.chat) return;
    if (seq === this.rxSeq) this.rxSeq++;
    else if (seq > this.rxSeq) {
      rec.inc('messages_lost', seq - this.rxSeq);
      this.rxSeq = seq + 1;
    } else rec.inc('messages_out_of_order');
  }

  /**
   * After welcome or a finished chat: search again, or, with no searches left,
   * stay online listening until the session ends (or end it now, `afterChats: leave`).
   */
  private next(): void {
    if (this.searchesLeft > 0 && wallNow() < this.sessionEnd) this.search(true);
    else if (this.spec.afterChats === 'stay' && wallNow() < this.sessionEnd) this.wait(this.sessionEnd);
    else this.end(this.bad);
  }

  private search(counts: boolean): void {
    if (wallNow() >= this.sessionEnd) return this.end(this.bad);
    if (counts) this.searchesLeft--;
    this.state = S.Searching;
    this.searchAt = wallNow();
    this.host.rec.inc('searches');
    const track = this.host.pickTrack();
    this.searchHot = this.host.lastTrackHot;
    this.send(`{"type":"search","track":${JSON.stringify(track)}}`);
    this.wait(Math.min(this.searchAt + this.host.searchTimeoutMs + SEARCH_GRACE_MS, this.sessionEnd));
  }

  private think(): void {
    const at = wallNow() + sample(this.spec.think, this.host.rng);
    this.wait(Math.min(at, this.sessionEnd));
  }

  private wait(at: number): void {
    this.timerToken++;
    this.host.timers.schedule(this, at);
  }

  onTimer(at: number): void {
    if (at >= this.sessionEnd) return this.end(this.bad);
    if (this.state === S.Searching) {
      this.host.rec.inc('search_timeouts');
      this.search(false);
    } else if (this.state === S.Chatting) {
      if (this.msgsLeft > 0) this.say(at);
      if (this.msgsLeft > 0) this.think();
      else {
        this.state = S.LeavingChat;
        this.send('{"type":"leave"}');
      }
    }
  }

  private say(intendedAt: number): void {
    this.msgsLeft--;
    const prefix = `~${(this.txSeq++).toString(36)}.${Math.round(intendedAt * 1000).toString(36)}~`;
    const len = sample(this.spec.messageLength, this.host.rng);
    const text = len > prefix.length ? prefix + FILLER.slice(0, len - prefix.length) : prefix;
    (this.pending ??= []).push(intendedAt);
    this.host.rec.inc('messages_sent');
    this.send(`{"type":"say","id":${this.nextId++},"text":"${text}"}`);
  }

  private setInChat(v: boolean): void {
    if (v !== this.inChat) this.host.userChatting(v ? 1 : -1);
    this.inChat = v;
  }

  private chatOver(): void {
    this.staleSays = this.pending?.length ?? 0;
    this.setInChat(false);
    this.state = S.Idle;
    this.chat = '';
    this.timerToken++;
    this.next();
  }

  end(drop: boolean): void {
    if (this.state >= S.Ending) return;
    this.timerToken++;
    const ws = this.ws;
    if (!ws || this.state === S.Connecting || drop) {
      if (drop && this.state !== S.Connecting) this.host.rec.inc('bad_drops');
      this.setInChat(false);
      this.state = S.Closing;
      ws?.terminate();
      return;
    }
    if (this.state === S.Idle) return this.close();
    this.setInChat(false);
    this.state = S.Ending;
    this.send('{"type":"leave"}');
  }

  private close(): void {
    this.state = S.Closing;
    this.ws?.close(1000);
  }

  kill(): void {
    if (this.state === S.Done) return;
    this.setInChat(false);
    this.state = S.Closing;
    this.ws?.terminate();
  }

  /** The socket's error, while connecting: why the connection failed to open. */
  socketError(err: Error): void {
    if (this.state === S.Connecting) this.failure ??= err;
  }

  closed(code: number): void {
    const rec = this.host.rec;
    if (this.state === S.Connecting) rec.connectFailed(connectFailureReason(this.failure));
    else if (!this.isOpen) rec.inc('connects_abandoned');
    else if (this.state !== S.Closing) rec.unexpectedClose(code);
    this.setInChat(false);
    if (this.pending?.length) rec.inc('messages_unconfirmed', this.pending.length);
    this.pending = null;
    this.state = S.Done;
    this.timerToken++;
    if (this.ws) this.ws.owner = null;
    this.ws = null;
    rec.inc('sessions_done');
    this.host.userDone(this, this.isOpen);
    this.isOpen = false;
  }

  private send(frame: string): void {
    const ws = this.ws;
    if (ws && ws.readyState === 1) ws.send(frame);
  }
}
