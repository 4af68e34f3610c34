/**
 * The Grafana dashboard shipped as deploy/grafana-dashboard.json, written by
 * `npm run render-deploy` (a test fails when the two drift). Panels are listed
 * here by row; their places on the grid, ids and the Grafana boilerplate are
 * filled in below. Every query reads metrics the app servers and matchmakers
 * export (a test checks the names against them).
 *
 * The data source is a dashboard variable (`datasource`), so the file imports
 * as it is (Dashboards → New → Import) and provisions as it is, whatever the
 * Prometheus data source is called.
 */
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { DEPLOY_DIR } from '../src/ops/haproxy.js';

export const GRAFANA_DASHBOARD = join(DEPLOY_DIR, 'grafana-dashboard.json');

interface Query {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  /** Grafana's unit id: short, s, percentunit, bytes, ops (per second)… */
  unit: string;
  queries: Query[];
  /** Grid columns out of 24 (default 8). */
  width?: number;
  /** A single number (the latest) instead of a graph. */
  stat?: boolean;
}

interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

/** App servers chosen in the dashboard's `server` variable. */
const APP = 'server=~"$server"';
/** Any matchmaker (they carry `matchmaker` and `shard`, never `server`). */
const MM = 'matchmaker!=""';
const RATE = '$__rate_interval';

const rate = (metric: string, by: string, selector = APP) =>
  `sum by (${by}) (rate(${metric}{${selector}}[${RATE}]))`;
const total = (metric: string) => `sum(rate(${metric}{${APP}}[${RATE}]))`;
const perServer = (metric: string): Query[] => [
  { expr: `sum by (server) (${metric}{${APP}})`, legend: '{{server}}' },
];
const quantile = (q: number) =>
  `histogram_quantile(${q}, sum by (le) (rate(samesong_match_wait_seconds_bucket{${APP}}[${RATE}])))`;

const ROWS: RowSpec[] = [
  {
    title: 'Overview (the app servers chosen above)',
    panels: [
      {
        title: 'Connections',
        description: 'Open client connections.',
        unit: 'short',
        width: 4,
        stat: true,
        queries: [{ expr: `sum(samesong_connections{${APP}})`, legend: 'connections' }],
      },
      {
        title: 'Chats',
        description:
          'Chats in progress, counted on the app server of each member: a chat whose members are on two app servers counts twice.',
        unit: 'short',
        width: 4,
        stat: true,
        queries: [{ expr: `sum(samesong_chats{${APP}})`, legend: 'chats' }],
      },
      {
        title: 'Searching',
        description: 'Sessions waiting for a partner.',
        unit: 'short',
        width: 4,
        stat: true,
        queries: [{ expr: `sum(samesong_searching_sessions{${APP}})`, legend: 'searching' }],
      },
      {
        title: 'Away',
        description: 'Sessions whose client is gone, held for resume (--resume-grace).',
        unit: 'short',
        width: 4,
        stat: true,
        queries: [{ expr: `sum(samesong_away_sessions{${APP}})`, legend: 'away' }],
      },
      {
        title: 'Chat messages/s',
        description: 'Chat messages accepted for delivery, per second.',
        unit: 'ops',
        width: 4,
        stat: true,
        queries: [{ expr: total('samesong_chat_messages_total'), legend: 'messages/s' }],
      },
      {
        title: 'Errors/s',
        description: 'Protocol errors sent to clients, per second (docs/errors.md).',
        unit: 'ops',
        width: 4,
        stat: true,
        queries: [{ expr: total('samesong_errors_total'), legend: 'errors/s' }],
      },
    ],
  },
  {
    title: 'Sessions, per app server',
    panels: [
      {
        title: 'Connections',
        description: 'Open client connections, per app server (samesong_connections).',
        unit: 'short',
        width: 12,
        queries: perServer('samesong_connections'),
      },
      {
        title: 'Chats',
        description: 'Chats with a member on each app server (samesong_chats).',
        unit: 'short',
        width: 12,
        queries: perServer('samesong_chats'),
      },
      {
        title: 'Searching',
        description: 'Sessions waiting for a partner, per app server (samesong_searching_sessions).',
        unit: 'short',
        width: 12,
        queries: perServer('samesong_searching_sessions'),
      },
      {
        title: 'Away',
        description: 'Sessions held for resume, per app server (samesong_away_sessions).',
        unit: 'short',
        width: 12,
        queries: perServer('samesong_away_sessions'),
      },
    ],
  },
  {
    title: 'Traffic',
    panels: [
      {
        title: 'Messages/s',
        description:
          'Client messages received per app server; chat messages accepted and server messages sent, in all.',
        unit: 'ops',
        queries: [
          { expr: rate('samesong_client_messages_total', 'server'), legend: '{{server}} received' },
          { expr: total('samesong_chat_messages_total'), legend: 'chat messages (all)' },
          { expr: total('samesong_server_messages_total'), legend: 'sent (all)' },
        ],
      },
      {
        title: 'Errors/s by code',
        description:
          'Protocol errors sent to clients, by code (docs/errors.md). `unavailable`: Redis; `rate_limited`: floods or tight limits; `bad_request`, `unknown_type`: a client.',
        unit: 'ops',
        queries: [{ expr: rate('samesong_errors_total', 'code'), legend: '{{code}}' }],
      },
      {
        title: 'Searches and matches/s',
        description:
          'Searches accepted, chats started, searches that timed out, and searches ended by the backstop (no answer from the matchmaker).',
        unit: 'ops',
        queries: [
          { expr: total('samesong_searches_total'), legend: 'searches' },
          { expr: total('samesong_matches_total'), legend: 'matches' },
          { expr: total('samesong_no_matches_total'), legend: 'no match' },
          { expr: total('samesong_search_backstops_total'), legend: 'no answer (backstop)' },
        ],
      },
      {
        title: 'Match wait',
        description:
          'Time from search to match, p50 and p99 over the app servers chosen (samesong_match_wait_seconds).',
        unit: 's',
        queries: [
          { expr: quantile(0.5), legend: 'p50' },
          { expr: quantile(0.99), legend: 'p99' },
        ],
      },
      {
        title: 'Resumes/s by result',
        description: 'Resume attempts, by result.',
        unit: 'ops',
        queries: [{ expr: rate('samesong_resumes_total', 'result'), legend: '{{result}}' }],
      },
      {
        title: 'Closes/s by code',
        description:
          'Connections the app servers closed, by close code (1012: drain, 1013: full), and slow readers dropped.',
        unit: 'ops',
        queries: [
          { expr: rate('samesong_server_closes_total', 'code'), legend: '{{code}}' },
          { expr: total('samesong_slow_reader_drops_total'), legend: 'slow readers dropped' },
        ],
      },
    ],
  },
  {
    title: 'Refusals',
    panels: [
      {
        title: 'Refused connections/s by reason',
        description:
          'full, open_file_limit: capacity; draining: a drain; origin: a foreign page; address_*: per-address limits; proxy_protocol: an untrusted or broken PROXY header.',
        unit: 'ops',
        width: 12,
        queries: [{ expr: rate('samesong_refused_connections_total', 'reason'), legend: '{{reason}}' }],
      },
      {
        title: 'Per-address limits/s by limit',
        description:
          'Refusals by each per-address limit: connections, rate (new connections), sockets, chats (new chats). docs/security.md.',
        unit: 'ops',
        width: 12,
        queries: [{ expr: rate('samesong_address_limited_total', 'limit'), legend: '{{limit}}' }],
      },
    ],
  },
  {
    title: 'Bus and matchmakers',
    panels: [
      {
        title: 'Bus (Redis) up',
        description: '1 while each process is connected to Redis (samesong_bus_up).',
        unit: 'short',
        queries: [
          { expr: `min by (server) (samesong_bus_up{${APP}})`, legend: '{{server}}' },
          { expr: `min by (matchmaker) (samesong_bus_up{${MM}})`, legend: '{{matchmaker}}' },
        ],
      },
      {
        title: 'Leaders per shard',
        description: 'Matchmakers that lead each shard: 1 when healthy; 0: nobody matches its tracks.',
        unit: 'short',
        queries: [{ expr: 'sum by (shard) (samesong_matchmaker_leader)', legend: '{{shard}}' }],
      },
      {
        title: 'Waiting seekers per shard',
        description: "Seekers in each shard leader's queues.",
        unit: 'short',
        queries: [{ expr: 'sum by (shard) (samesong_matchmaker_waiting_seekers)', legend: '{{shard}}' }],
      },
      {
        title: 'Matchmaker matches/s',
        description: 'Matches made and searches timed out, per shard.',
        unit: 'ops',
        queries: [
          { expr: rate('samesong_matchmaker_matches_total', 'shard', MM), legend: '{{shard}} matches' },
          { expr: rate('samesong_matchmaker_timeouts_total', 'shard', MM), legend: '{{shard}} timeouts' },
        ],
      },
      {
        title: 'Bus losses/s',
        description:
          'Ops not published while Redis was down (by op), resume-state writes that failed, and ops for sessions gone.',
        unit: 'ops',
        queries: [
          { expr: rate('samesong_bus_lost_ops_total', 'op'), legend: 'lost {{op}}' },
          { expr: total('samesong_store_failures_total'), legend: 'store failures' },
          { expr: total('samesong_bus_stale_ops_total'), legend: 'stale ops' },
        ],
      },
      {
        title: 'Handler faults/s',
        description:
          'Exceptions while handling a client message or a bus op, by source and type: each is a bug.',
        unit: 'ops',
        queries: [
          { expr: rate('samesong_handler_faults_total', 'source, type'), legend: '{{source}} {{type}}' },
        ],
      },
    ],
  },
  {
    title: 'Processes',
    panels: [
      {
        title: 'Event-loop lag p99',
        description:
          'How late each process runs what it has to (nodejs_eventloop_lag_p99_seconds): every client of an app server waits that long.',
        unit: 's',
        queries: [
          { expr: `max by (server) (nodejs_eventloop_lag_p99_seconds{${APP}})`, legend: '{{server}}' },
          { expr: `max by (matchmaker) (nodejs_eventloop_lag_p99_seconds{${MM}})`, legend: '{{matchmaker}}' },
        ],
      },
      {
        title: 'Open files / limit',
        description:
          'Descriptors open against the limit (one per client connection): refusals start at 100 %.',
        unit: 'percentunit',
        queries: [
          {
            expr: `max by (server) (process_open_fds{${APP}} / process_max_fds{${APP}})`,
            legend: '{{server}}',
          },
        ],
      },
      {
        title: 'Draining',
        description: '1 while an app server drains (SIGTERM).',
        unit: 'short',
        queries: perServer('samesong_draining'),
      },
      {
        title: 'CPU',
        description: 'CPU time per second (1 = one core).',
        unit: 'percentunit',
        queries: [{ expr: rate('process_cpu_seconds_total', 'server'), legend: '{{server}}' }],
      },
      {
        title: 'Resident memory',
        description: 'Resident memory of each app server.',
        unit: 'bytes',
        queries: perServer('process_resident_memory_bytes'),
      },
      {
        title: 'Heap used',
        description: "V8's heap in use, per app server.",
        unit: 'bytes',
        queries: perServer('nodejs_heap_size_used_bytes'),
      },
    ],
  },
];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const GRAPH_HEIGHT = 8;
const STAT_HEIGHT = 4;

function panel(spec: PanelSpec, id: number, gridPos: object): object {
  const targets = spec.queries.map((q, i) => ({
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend,
    range: true,
    refId: String.fromCharCode(65 + i),
  }));
  const common = {
    id,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos,
    targets,
  };
  if (spec.stat)
    return {
      ...common,
      type: 'stat',
      fieldConfig: {
        defaults: {
          unit: spec.unit,
          color: { mode: 'fixed', fixedColor: 'text' },
          thresholds: { mode: 'absolute', steps: [{ color: 'text', value: null }] },
        },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'value',
        graphMode: 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'value',
      },
    };
  return {
    ...common,
    type: 'timeseries',
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        min: 0,
        custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };
}

/** Rows and panels laid out on Grafana's 24-column grid, left to right, top to bottom. */
function layout(): object[] {
  const panels: object[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let height = 0;
    for (const spec of row.panels) {
      const w = spec.width ?? 8;
      const h = spec.stat ? STAT_HEIGHT : GRAPH_HEIGHT;
      if (x + w > 24) {
        y += height;
        x = 0;
        height = 0;
      }
      panels.push(panel(spec, id++, { h, w, x, y }));
      x += w;
      height = Math.max(height, h);
    }
    y += height;
  }
  return panels;
}

export function grafanaDashboard(): object {
  return {
    uid: 'samesong',
    title: 'samesong',
    description:
      'samesong app servers and matchmakers, from deploy/prometheus.yml (docs/deploy.md, "Monitoring").',
    tags: ['samesong'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-3h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    links: [],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          refresh: 1,
          options: [],
          regex: '',
        },
        {
          name: 'server',
          label: 'App server',
          type: 'query',
          datasource: DATASOURCE,
          definition: 'label_values(samesong_connections, server)',
          query: { query: 'label_values(samesong_connections, server)', refId: 'server' },
          includeAll: true,
          multi: true,
          allValue: '.+',
          current: { selected: true, text: ['All'], value: ['$__all'] },
          hide: 0,
          refresh: 2,
          sort: 1,
          options: [],
          regex: '',
        },
      ],
    },
    panels: layout(),
  };
}

/** The text of deploy/grafana-dashboard.json: the dashboard as JSON, formatted as the project formats JSON. */
export async function renderGrafanaDashboard(): Promise<string> {
  const options = await resolveConfig(GRAFANA_DASHBOARD);
  return format(JSON.stringify(grafanaDashboard()), { ...options, filepath: GRAFANA_DASHBOARD });
}

/** Every PromQL expression of the dashboard: its panels' queries and its variables' queries. */
export function dashboardExpressions(dashboard = grafanaDashboard()): string[] {
  const d = dashboard as {
    panels: { targets?: { expr: string }[] }[];
    templating: { list: { definition?: string }[] };
  };
  const label = /^label_values\((?:(.+),\s*)?\w+\)$/;
  return [
    ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...d.templating.list.flatMap((v) =>
      v.definition ? [label.exec(v.definition)?.[1] ?? v.definition] : [],
    ),
  ];
}
