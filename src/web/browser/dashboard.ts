/**
 * The live operations dashboard, served by an app server's admin listener:
 * polls /stats of each watched admin listener once a second and draws uPlot
 * charts (one line per server), the current totals and the trending tracks.
 * `?servers=http://a,http://b` watches several admin listeners. With a
 * dashboard token, the login cookie goes along (credentials included); the
 * other listeners must list this one's origin in --admin-origins.
 */
import 'uplot/dist/uPlot.min.css';
import '../styles/dashboard.css';
import type { StatsSnapshot } from '../../server/routes.js';
import type { TopTrack } from '../../server/track-stats.js';
import { trackLabel } from './chat/tracks.js';
import { formatMs, formatMsPair, formatNumber, LiveChart } from './dashboard/chart.js';
import { pollAll, serversFromQuery, type ServerSample } from './dashboard/poller.js';

const POLL_MS = 1000;
const servers = serversFromQuery(location.search, location.origin);
const hostOf = (url: string) => new URL(url).host;
const many = servers.length > 1;

type Figure = (s: StatsSnapshot) => number;
interface Panel {
  id: string;
  title: string;
  format?: (v: number) => string;
  figures: [string, Figure][];
  total: (samples: StatsSnapshot[]) => string;
}
const sum = (f: Figure) => (all: StatsSnapshot[]) => formatNumber(all.reduce((a, s) => a + f(s), 0));
const worst = (f: Figure) => (all: StatsSnapshot[]) => all.reduce((a, s) => Math.max(a, f(s)), 0);

const PANELS: Panel[] = [
  {
    id: 'connections',
    title: 'Connections',
    figures: [['', (s) => s.connections]],
    total: sum((s) => s.connections),
  },
  {
    id: 'searching',
    title: 'Searching',
    figures: [['', (s) => s.searching]],
    total: sum((s) => s.searching),
  },
  { id: 'chats', title: 'Chats', figures: [['', (s) => s.chats]], total: sum((s) => s.chats) },
  {
    id: 'away',
    title: 'Away (held for resume)',
    figures: [['', (s) => s.away]],
    total: sum((s) => s.away),
  },
  {
    id: 'messages',
    title: 'Messages / s',
    figures: [['', (s) => s.messagesPerSecond]],
    total: sum((s) => s.messagesPerSecond),
  },
  {
    id: 'wait',
    title: 'Match wait p50 / p99',
    format: formatMs,
    figures: [
      ['p50', (s) => s.matchWaitP50Ms ?? 0],
      ['p99', (s) => s.matchWaitP99Ms ?? 0],
    ],
    total: (all) =>
      formatMsPair(worst((s) => s.matchWaitP50Ms ?? 0)(all), worst((s) => s.matchWaitP99Ms ?? 0)(all)),
  },
  {
    id: 'errors',
    title: 'Errors / s',
    figures: [['', (s) => s.errorsPerSecond ?? 0]],
    total: sum((s) => s.errorsPerSecond ?? 0),
  },
];

const $ = (id: string) => document.getElementById(id)!;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string) => {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

const charts = new Map<string, LiveChart>();
const totals = new Map<string, HTMLElement>();
for (const panel of PANELS) {
  const card = el('section', 'kpi');
  card.append(el('h2', '', panel.title));
  const value = el('p', 'kpi-value', '–');
  value.id = `kpi-${panel.id}`;
  value.dataset.figure = panel.id;
  card.append(value);
  $('kpis').append(card);
  totals.set(panel.id, value);

  const box = el('section', 'chart-card');
  box.append(el('h2', '', panel.title));
  const plot = el('div', 'plot');
  box.append(plot);
  $('charts').append(box);
  const names = servers.flatMap((url) =>
    panel.figures.map(
      ([suffix]) => [many ? hostOf(url) : '', suffix].filter(Boolean).join(' ') || panel.title,
    ),
  );
  charts.set(panel.id, new LiveChart(plot, names, panel.format));
}

function render(samples: ServerSample[]): void {
  const now = Date.now();
  const live = samples.flatMap((s) => (s.stats ? [s.stats] : []));
  for (const panel of PANELS) {
    const values = samples.flatMap((s) => panel.figures.map(([, f]) => (s.stats ? f(s.stats) : null)));
    charts.get(panel.id)!.push(now, values);
    totals.get(panel.id)!.textContent = live.length ? panel.total(live) : '–';
  }
  renderServers(samples);
  renderTrending(live);
  $('updated').textContent = `updated ${new Date(now).toLocaleTimeString()}`;
}

function renderServers(samples: ServerSample[]): void {
  const list = $('servers');
  list.replaceChildren(
    ...samples.map((s) => {
      const li = el('li', `server ${s.error ? 'down' : s.stats?.draining ? 'draining' : 'up'}`);
      li.append(el('span', 'server-host', hostOf(s.url)));
      const detail = s.error
        ? s.error
        : `${s.stats!.server} · ${formatNumber(s.stats!.connections)} / ${formatNumber(s.stats!.maxConnections)}${s.stats!.draining ? ' · draining' : ''}`;
      li.append(el('span', 'server-detail', detail));
      return li;
    }),
  );
}

function renderTrending(live: StatsSnapshot[]): void {
  const merged = new Map<string, TopTrack>();
  for (const s of live) {
    for (const t of s.topTracks) {
      const m = merged.get(t.track) ?? { track: t.track, searches: 0, chats: 0 };
      m.searches += t.searches;
      m.chats += t.chats;
      merged.set(t.track, m);
    }
  }
  const top = [...merged.values()].sort((a, b) => b.searches - a.searches || b.chats - a.chats).slice(0, 10);
  const body = $('trending');
  body.replaceChildren(
    ...top.map((t) => {
      const tr = el('tr');
      tr.append(
        el('td', 'track', trackLabel(t.track).text),
        el('td', 'num', String(t.searches)),
        el('td', 'num', String(t.chats)),
      );
      return tr;
    }),
  );
  $('trending-empty').hidden = top.length > 0;
}

async function loop(): Promise<void> {
  const started = Date.now();
  render(await pollAll(servers, POLL_MS * 2));
  setTimeout(() => void loop(), Math.max(0, POLL_MS - (Date.now() - started)));
}
void loop();
