/**
 * The chat page's DOM: screens, bubbles, notices, trending and status. Every
 * text that comes from the network or the user is set with textContent.
 */
import type { TopTrack } from '../../../server/track-stats.js';
import { checkComposer } from './composer.js';
import { Countdown } from './countdown.js';
import type { LinkStatus } from './link.js';
import { MessageScroller } from './scroller.js';
import type { Line, Screen } from './store.js';
import { showTrack } from './track-view.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

const time = (ts: number) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export class ChatView {
  readonly trackInput = $<HTMLInputElement>('track-input');
  readonly nameInput = $<HTMLInputElement>('name-input');
  readonly sayInput = $<HTMLTextAreaElement>('say-input');
  readonly searchForm = $<HTMLFormElement>('search-form');
  readonly sayForm = $<HTMLFormElement>('say-form');
  #typingTimer: ReturnType<typeof setTimeout> | null = null;
  #toastTimer: ReturnType<typeof setTimeout> | null = null;
  #online = false;
  #ended = false;
  readonly #countdown = new Countdown();
  readonly #scroller = new MessageScroller($('messages'), $<HTMLButtonElement>('new-messages'), () => {
    // the button hides once used: focus goes where the reader will act next
    if (!this.sayInput.disabled) this.sayInput.focus();
    else if (this.#ended) $('again-btn').focus();
  });

  constructor() {
    this.sayInput.addEventListener('input', () => this.composerChanged());
  }

  on(id: string, handler: () => void): void {
    $(id).addEventListener('click', handler);
  }

  show(screen: Screen, focus = true): void {
    for (const s of ['home', 'searching', 'chatting'] as const) {
      $(`screen-${s === 'chatting' ? 'chat' : s}`).hidden = s !== screen;
    }
    document.body.dataset.screen = screen;
    if (!focus) return;
    if (screen === 'home') this.trackInput.focus();
    else if (screen === 'searching') $('searching-title').focus();
    else this.sayInput.focus();
  }

  trackError(message: string | null): void {
    const p = $('track-error');
    p.hidden = message === null;
    p.textContent = message ?? '';
    this.trackInput.setAttribute('aria-invalid', String(message !== null));
    if (message !== null) this.trackInput.focus();
  }

  searching(track: string): void {
    $('searching-title').textContent = 'Looking for a listener…';
    setTrack($('searching-track'), track);
    $('searching-wait').hidden = false;
    $('no-match').hidden = true;
    this.show('searching');
  }

  noMatch(): void {
    $('searching-title').textContent = 'No one here yet';
    $('searching-wait').hidden = true;
    $('no-match').hidden = false;
    $('retry-btn').focus();
  }

  chat(partner: string, track: string, lines: Line[], ended: boolean, focus = true): void {
    $('partner-name').textContent = partner;
    $('partner-avatar').textContent = [...partner.trim()][0]?.toUpperCase() ?? '?';
    setTrack($('chat-track'), track);
    $('messages').replaceChildren(...lines.map((line) => this.#bubble(line)));
    this.partnerTyping(false);
    this.setEnded(ended);
    this.show('chatting', focus);
    this.#scroller.toBottom();
  }

  /**
   * Adds a bubble; returns it so an `ack` can mark it delivered. One's own
   * message is always scrolled to; the partner's only when the reader is at
   * the bottom (otherwise "new messages" counts it).
   */
  line(line: Line, pending = false): HTMLElement {
    const li = this.#bubble(line);
    if (pending) li.classList.add('pending');
    $('messages').append(li);
    this.#scroller.added(line.own ? 'always' : 'if-at-bottom');
    if (line.own === false) this.partnerTyping(false);
    return li;
  }

  #bubble(line: Line): HTMLElement {
    const li = el('li', `bubble ${line.own ? 'own' : 'partner'}`);
    const who = el(
      'span',
      'visually-hidden',
      line.own ? 'You said: ' : `${$('partner-name').textContent ?? ''} said: `,
    );
    const text = el('span', 'text', line.text);
    const meta = el('time', 'meta', time(line.ts));
    meta.dateTime = new Date(line.ts).toISOString();
    li.append(who, text, meta);
    return li;
  }

  /** Adds a notice; the one that ends the chat is always scrolled to, so that the reader sees why. */
  notice(text: string, kind: 'info' | 'warn' | 'end' = 'info'): void {
    $('messages').append(el('li', `notice ${kind}`, text));
    this.#scroller.added(kind === 'end' ? 'always' : 'if-at-bottom');
  }

  partnerTyping(on: boolean): void {
    const p = $('typing');
    if (this.#typingTimer) clearTimeout(this.#typingTimer);
    this.#typingTimer = null;
    p.hidden = !on;
    if (on) {
      p.setAttribute('aria-label', `${$('partner-name').textContent ?? ''} is typing`);
      this.#typingTimer = setTimeout(() => (p.hidden = true), 3500);
    }
  }

  setEnded(ended: boolean): void {
    this.#ended = ended;
    $('chat-ended').hidden = !ended;
    $('next-btn').hidden = ended;
    this.#updateComposer();
    if (ended) {
      this.partnerTyping(false);
      $('again-btn').focus();
    }
  }

  /**
   * The connection pill. A wait counts down live, second by second; screen
   * readers hear each change of state once (#link-status-sr), not every tick.
   */
  status(status: LinkStatus): void {
    const p = $('link-status');
    p.dataset.state = status.state;
    this.#online = status.state === 'online';
    document.body.dataset.transport = status.state === 'online' ? status.transport : '';
    this.#countdown.stop();
    if (status.state === 'waiting') {
      const [what, when] =
        status.why === 'restarting' ? ['Server restarting', 'back'] : ['Connection lost', 'retrying'];
      $('link-status-sr').textContent = `${what} — ${when} in about ${Math.ceil(status.inMs / 1000)} seconds`;
      this.#countdown.start(status.inMs, (s) => {
        p.textContent = s > 0 ? `${what} — ${when} in ${s} s` : `${what} — reconnecting…`;
      });
    } else {
      p.textContent =
        status.state === 'online'
          ? status.transport === 'sockjs'
            ? 'Online (fallback)'
            : 'Online'
          : status.state === 'connecting'
            ? 'Connecting…'
            : 'Continued in another tab';
      $('link-status-sr').textContent = p.textContent;
    }
    $<HTMLButtonElement>('search-btn').disabled = !this.#online;
    this.#updateComposer();
  }

  trending(tracks: TopTrack[], onPick: (track: string) => void): void {
    const list = $('trending-list');
    list.replaceChildren();
    for (const t of tracks.slice(0, 8)) {
      const button = el('button', 'trend');
      button.type = 'button';
      const title = el('span', 'trend-title');
      button.append(title, el('span', 'trend-meta', countLabel(t)));
      showTrack(title, t.track, {
        link: false,
        onText: (text) => button.setAttribute('aria-label', `Search ${text}, ${countLabel(t)}`),
      });
      button.addEventListener('click', () => onPick(t.track));
      const li = el('li');
      li.append(button);
      list.append(li);
    }
    $('trending-empty').hidden = tracks.length > 0;
  }

  toast(text: string): void {
    const t = $('toast');
    t.textContent = text;
    t.hidden = false;
    if (this.#toastTimer) clearTimeout(this.#toastTimer);
    this.#toastTimer = setTimeout(() => (t.hidden = true), 4000);
  }

  /**
   * Send is enabled only for a message the server would take: not blank, not
   * over the protocol's length (with a counter as it nears it).
   */
  composerChanged(): void {
    const check = checkComposer(this.sayInput.value);
    const off = !this.#online || this.#ended;
    $<HTMLButtonElement>('send-btn').disabled = off || !check.canSend;
    const counter = $('say-count');
    counter.hidden = check.counter === null;
    counter.textContent = check.counter ?? '';
    counter.classList.toggle('over', check.tooLong);
    this.sayInput.setAttribute('aria-invalid', String(check.tooLong));
  }

  #updateComposer(): void {
    const off = !this.#online || this.#ended;
    this.sayInput.disabled = off;
    this.sayInput.placeholder = this.#ended
      ? 'This chat has ended'
      : this.#online
        ? 'Say something…'
        : 'Reconnecting…';
    this.composerChanged();
  }
}

function setTrack(target: HTMLElement, track: string): void {
  showTrack(target, track, { link: true });
}

function countLabel(t: TopTrack): string {
  const parts = [`${t.searches} ${t.searches === 1 ? 'search' : 'searches'}`];
  if (t.chats > 0) parts.push(`${t.chats} ${t.chats === 1 ? 'chat' : 'chats'}`);
  return parts.join(' · ');
}
