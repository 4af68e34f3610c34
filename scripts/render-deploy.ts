/** Writes deploy/haproxy.cfg from deploy/haproxy.cfg.template (a test fails when they drift apart). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEPLOY_DIR,
  HAPROXY_TEMPLATE,
  renderHaproxyConfig,
  SHIPPED_HAPROXY_CONFIG,
} from '../src/ops/haproxy.js';

const out = join(DEPLOY_DIR, 'haproxy.cfg');
writeFileSync(out, renderHaproxyConfig(readFileSync(HAPROXY_TEMPLATE, 'utf8'), SHIPPED_HAPROXY_CONFIG));
console.log(`wrote ${out}`);
