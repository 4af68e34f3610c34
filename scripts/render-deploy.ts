/**
 * Writes the generated files of deploy/ (a test fails when any drifts from its
 * source): haproxy.cfg from haproxy.cfg.template, and grafana-dashboard.json
 * from scripts/grafana-dashboard.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEPLOY_DIR,
  HAPROXY_TEMPLATE,
  renderHaproxyConfig,
  SHIPPED_HAPROXY_CONFIG,
} from '../src/ops/haproxy.js';
import { GRAFANA_DASHBOARD, renderGrafanaDashboard } from './grafana-dashboard.js';

const out = join(DEPLOY_DIR, 'haproxy.cfg');
writeFileSync(out, renderHaproxyConfig(readFileSync(HAPROXY_TEMPLATE, 'utf8'), SHIPPED_HAPROXY_CONFIG));
console.log(`wrote ${out}`);
writeFileSync(GRAFANA_DASHBOARD, await renderGrafanaDashboard());
console.log(`wrote ${GRAFANA_DASHBOARD}`);
