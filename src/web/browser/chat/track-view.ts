/**
 * Where the chat page shows a track (the searching chip, the chat's head,
 * "Trending now"): its label at once (./tracks.ts), then title, artist and
 * cover once the server tells them (./track-meta.ts). Texts are set with
 * textContent; a cover that does not load is removed.
 */
import '../../styles/tracks.css';
import { TrackMetaSource } from './track-meta.js';
import { trackLabel, type TrackLabel } from './tracks.js';

/** The page's one source of track metadata (its answers are remembered for every view). */
export const trackMeta = new TrackMetaSource((url) =>
  fetch(url, { headers: { accept: 'application/json' } }),
);

/**
 * Shows `track` in `target`, as a link to Spotify for a Spotify track; `onText` hears each text
 * shown (for labels that repeat it, such as a button's aria-label).
 */
export function showTrack(
  target: HTMLElement,
  track: string,
  options: { link: boolean; onText?: (text: string) => void } = { link: true },
): void {
  target.dataset.track = track;
  const known = trackMeta.peek(track);
  render(target, trackLabel(track, known), options);
  if (known !== undefined) return;
  void trackMeta.get(track).then((info) => {
    if (info && target.dataset.track === track) render(target, trackLabel(track, info), options);
  });
}

function render(
  target: HTMLElement,
  label: TrackLabel,
  options: { link: boolean; onText?: (text: string) => void },
): void {
  const parts: Node[] = [];
  if (label.cover) parts.push(cover(label.cover));
  parts.push(document.createTextNode(label.text));
  if (options.link && label.href) {
    const a = document.createElement('a');
    a.href = label.href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.append(...parts);
    target.replaceChildren(a);
  } else target.replaceChildren(...parts);
  target.classList.toggle('has-cover', label.cover !== undefined);
  options.onText?.(label.text);
}

function cover(src: string): HTMLImageElement {
  const img = document.createElement('img');
  img.className = 'track-cover';
  img.alt = '';
  img.width = 64;
  img.height = 64;
  img.decoding = 'async';
  img.referrerPolicy = 'no-referrer';
  img.addEventListener('error', () => img.remove(), { once: true });
  img.src = src;
  return img;
}
