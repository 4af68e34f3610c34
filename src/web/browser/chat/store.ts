/** What the page remembers across a reload (sessionStorage): the screen, the track and the chat so far. */
import { isSeq } from './seq.js';

export type Screen = 'home' | 'searching' | 'chatting';

export interface Line {
  own: boolean;
  text: string;
  ts: number;
}

export interface PageState {
  screen: Screen;
  /** The normalised track of the last search. */
  track: string;
  name: string;
  chat: string | null;
  partner: string;
  /** True when the chat is over (partner left) but still on screen. */
  ended: boolean;
  lines: Line[];
  /** The highest message `seq` shown in this chat (0: none yet, or a server without them). */
  lastSeq: number;
}

const KEY = 'samesong:page';
const MAX_LINES = 200;

export function emptyState(): PageState {
  return {
    screen: 'home',
    track: '',
    name: '',
    chat: null,
    partner: '',
    ended: false,
    lines: [],
    lastSeq: 0,
  };
}

export function loadState(storage: Storage): PageState {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return emptyState();
    const value = JSON.parse(raw) as Partial<PageState>;
    return {
      ...emptyState(),
      ...value,
      lines: Array.isArray(value.lines) ? value.lines : [],
      lastSeq: isSeq(value.lastSeq) ? value.lastSeq : 0,
    };
  } catch {
    return emptyState();
  }
}

export function saveState(storage: Storage, state: PageState): void {
  if (state.lines.length > MAX_LINES) state.lines.splice(0, state.lines.length - MAX_LINES);
  try {
    storage.setItem(KEY, JSON.stringify(state));
  } catch {
    // storage full or disabled: the page still works, a reload just starts over
  }
}
