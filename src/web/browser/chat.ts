// Minimal chat page script; every text from the network is rendered as text.
import type { ServerMessage } from '../../protocol/messages.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
const log = (line: string) => {
  const li = document.createElement('li');
  li.textContent = line;
  $('log').append(li);
};
ws.onmessage = (e) => {
  const m = JSON.parse(String(e.data)) as ServerMessage;
  if (m.type === 'msg') log(`partner: ${m.text}`);
  else if (m.type === 'matched') $('status').textContent = `chatting with ${m.partner} on ${m.track}`;
  else $('status').textContent = m.type;
};
$('search').addEventListener('submit', (e) => {
  e.preventDefault();
  ws.send(JSON.stringify({ type: 'search', track: $<HTMLInputElement>('track').value }));
});
$('say').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $<HTMLInputElement>('text').value;
  ws.send(JSON.stringify({ type: 'say', text }));
  log(`you: ${text}`);
});
