/**
 * The chat page: pick a track, get matched, chat. Wires the connection
 * (chat/link.ts) to the view (chat/view.ts); tracks and texts are checked with
 * the same protocol code the server uses before they are sent.
 */
import { Limits, type ServerMessage } from '../../protocol/index.js';
import type { TopTrack } from '../../server/track-stats.js';
import '../styles/chat.css';
import { checkComposer } from './chat/composer.js';
import { ChatLink, type Ready } from './chat/link.js';
import { nextLast, recoveryIncomplete, resumeLast, type MsgSeqFields } from './chat/seq.js';
import { loadState, saveState } from './chat/store.js';
import { readTrack } from './chat/track-meta.js';
import { trackMeta } from './chat/track-view.js';
import { checkTrackInput } from './chat/track-input.js';
import { UnreadTitle } from './chat/unread.js';
import { ChatView } from './chat/view.js';

const TYPING_EVERY_MS = 2000;
const TRENDING_EVERY_MS = 15_000;
const MISSING_NOTICE = 'Some messages may be missing — they could not all be recovered.';

const view = new ChatView();
const unread = new UnreadTitle(document);
const state = loadState(sessionStorage);
const save = () => saveState(sessionStorage, state);
const pending = new Map<number, HTMLElement>();
let nextId = 1;
let lastTyping = 0;
let firstReady = true;

const link = new ChatLink(
  {
    origin: location.origin,
    storage: sessionStorage,
    resumeLast: () =>
      resumeLast(state.screen === 'chatting' && state.chat !== null && !state.ended, state.lastSeq),
  },
  { ready: onReady, message: onMessage, status: (s) => view.status(s) },
);

function search(track: string): void {
  state.track = track;
  state.screen = 'searching';
  save();
  view.searching(track);
  if (!link.send(state.name ? { type: 'search', track, name: state.name } : { type: 'search', track })) {
    view.toast('Not connected yet — the search starts as soon as we are back.');
  }
}

function goHome(): void {
  if (state.screen !== 'home') link.send({ type: 'leave' });
  Object.assign(state, { screen: 'home', chat: null, partner: '', ended: false, lines: [], lastSeq: 0 });
  save();
  view.show('home');
  void refreshTrending();
}

function onReady(ready: Ready): void {
  const wasFirst = firstReady;
  firstReady = false;
  const r = ready.resumed;
  // The server could not hand back everything sent while this page was away.
  const missing = recoveryIncomplete(r) && state.screen === 'chatting';
  if (r?.state === 'chatting' && r.chat === state.chat) {
    if (wasFirst) view.chat(state.partner, state.track, state.lines, false);
    view.notice(wasFirst ? 'Welcome back — your chat continues.' : 'Reconnected.', 'info');
    if (missing) view.notice(MISSING_NOTICE, 'warn');
    return;
  }
  if (state.screen === 'searching') return search(state.track);
  if (state.screen === 'chatting' && !state.ended && !r) {
    if (wasFirst) view.chat(state.partner, state.track, state.lines, true, false);
    view.notice('The connection was gone too long, so this chat has ended.', 'end');
    state.ended = true;
    save();
    view.setEnded(true);
    return;
  }
  if (wasFirst && state.screen === 'chatting')
    view.chat(state.partner, state.track, state.lines, state.ended);
  if (missing) view.notice(MISSING_NOTICE, 'warn');
}

function onMessage(m: ServerMessage): void {
  switch (m.type) {
    case 'searching':
      state.track = m.track;
      return view.searching(m.track);
    case 'matched':
      Object.assign(state, {
        screen: 'chatting',
        chat: m.chat,
        partner: m.partner,
        track: m.track,
        ended: false,
        lastSeq: 0,
      });
      state.lines = [];
      save();
      unread.bump();
      view.chat(m.partner, m.track, [], false);
      return view.notice(`You’re chatting with ${m.partner}. Say hi!`, 'info');
    case 'no_match':
      state.screen = 'home';
      save();
      return view.noMatch();
    case 'msg': {
      if (m.chat === state.chat) {
        // A replay after a resume may repeat a message already shown.
        const last = nextLast(state.lastSeq, (m as typeof m & MsgSeqFields).seq);
        if (last === null) return;
        state.lastSeq = last;
      }
      const line = { own: false, text: m.text, ts: m.ts };
      state.lines.push(line);
      save();
      unread.bump();
      view.line(line);
      return;
    }
    case 'ack':
      pending.get(Number(m.id))?.classList.remove('pending');
      pending.delete(Number(m.id));
      return;
    case 'typing':
      return view.partnerTyping(true);
    case 'partner_away':
      return view.notice(`${state.partner} lost their connection — they may be back in a moment.`, 'warn');
    case 'partner_back':
      return view.notice(`${state.partner} is back.`, 'info');
    case 'partner_left':
      state.ended = true;
      save();
      unread.bump();
      view.notice(
        m.reason === 'left' ? `${state.partner} left the chat.` : `${state.partner} disconnected.`,
        'end',
      );
      return view.setEnded(true);
    case 'error':
      if (m.id !== undefined) {
        pending.get(Number(m.id))?.classList.replace('pending', 'failed');
        pending.delete(Number(m.id));
      }
      return view.toast(errorText(m.code));
    case 'bye':
      return view.toast('The server is restarting; we will reconnect by ourselves.');
    default:
      return;
  }
}

/** What went wrong, in words for the person chatting (the server's own text is for developers). */
function errorText(code: string): string {
  switch (code) {
    case 'rate_limited':
      return 'Slow down a little — that message was not sent.';
    case 'partner_away':
      return 'Your partner is away; too many messages are waiting for them.';
    case 'unavailable':
      return 'That message could not be delivered — try sending it again.';
    case 'not_in_chat':
      return 'This chat is over, so that message was not sent.';
    default:
      return 'Something went wrong and that was not sent. Reload the page if it keeps happening.';
  }
}

view.searchForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const checked = checkTrackInput(view.trackInput.value);
  if (!checked.ok) return view.trackError(checked.message);
  // a spotify.link short link is resolved by the server first (chat/track-meta.ts)
  void readTrack(trackMeta, view.trackInput.value).then((result) => {
    if (!result.ok) return view.trackError(result.message);
    view.trackError(null);
    state.name = [...view.nameInput.value.trim()].slice(0, Limits.maxNameCodePoints).join('');
    search(result.track);
  });
});

view.sayForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = view.sayInput.value;
  const check = checkComposer(text);
  // Send is disabled then, but Enter submits the form all the same
  if (check.tooLong) return view.toast(`Messages are at most ${Limits.maxTextCodePoints} characters.`);
  if (!check.canSend) return;
  const id = nextId++;
  if (!link.send({ type: 'say', text, id })) return view.toast('Not connected — try again in a moment.');
  const line = { own: true, text, ts: Date.now() };
  state.lines.push(line);
  save();
  pending.set(id, view.line(line, true));
  view.sayInput.value = '';
  view.composerChanged();
  view.sayInput.focus();
  lastTyping = 0;
});

view.sayInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    view.sayForm.requestSubmit();
  }
});
view.sayInput.addEventListener('input', () => {
  const now = Date.now();
  if (now - lastTyping >= TYPING_EVERY_MS && view.sayInput.value.trim()) {
    lastTyping = now;
    link.send({ type: 'typing' });
  }
});

view.on('cancel-btn', goHome);
view.on('other-btn', goHome);
view.on('home-btn', goHome);
view.on('leave-btn', goHome);
view.on('retry-btn', () => search(state.track));
view.on('again-btn', () => search(state.track));
view.on('next-btn', () => search(state.track));

async function refreshTrending(): Promise<void> {
  if (state.screen !== 'home' || document.hidden) return;
  try {
    const res = await fetch('/stats', { cache: 'no-store' });
    if (!res.ok) return;
    const stats = (await res.json()) as { topTracks?: TopTrack[] };
    view.trending(stats.topTracks ?? [], search);
  } catch {
    // trending is a nicety; the page works without it
  }
}

window.addEventListener('pagehide', () => link.stop());
window.addEventListener('pageshow', (e) => {
  if (e.persisted) link.start();
});

if (state.screen === 'searching') view.searching(state.track);
else if (state.screen === 'chatting') view.chat(state.partner, state.track, state.lines, state.ended, false);
else view.show('home');
link.start();
void refreshTrending();
setInterval(() => void refreshTrending(), TRENDING_EVERY_MS);
